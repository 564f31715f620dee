"""Load a CSV and check it before any stage writes an output.

Each check names the file, the column and the rule it broke, so a bad dataset
stops the first stage with a message the user can act on.
"""
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from {{ cookiecutter.module_name }}.stage import UserError


class DataError(UserError):
    """The data breaks a rule the pipeline relies on."""


def first_line(mask: pd.Series) -> int:
    """1-based line number in the CSV of the first True row (line 1 is the header)."""
    return int(np.flatnonzero(mask.to_numpy())[0]) + 2


def check_target(frame: pd.DataFrame, path: Path, target: str, setting: str) -> None:
    if target not in frame.columns:
        raise DataError(
            f"{path}: column '{target}': target column not found "
            f"(columns: {', '.join(map(str, frame.columns))}); set {setting}"
        )
    missing = frame[target].isna()
    if missing.any():
        raise DataError(f"{path}: column '{target}': empty target at line {first_line(missing)}")
    counts = frame[target].value_counts()
    if len(counts) < 2:
        raise DataError(f"{path}: column '{target}': needs at least two classes")
    if counts.min() < 2:
        # A stratified split puts every class in both sets: one row cannot.
        raise DataError(
            f"{path}: column '{target}': class '{counts.idxmin()}' has only "
            f"{counts.min()} row; every class needs at least 2"
        )


def check_feature(frame: pd.DataFrame, path: Path, column: str) -> None:
    values = frame[column]
    if values.isna().all():
        raise DataError(f"{path}: column '{column}': every value is empty")
    if is_bool_dtype(values):
        return
    if not is_numeric_dtype(values):
        parsed = pd.to_numeric(values, errors="coerce")
        bad = parsed.isna() & values.notna()
        line = first_line(bad)
        raise DataError(
            f"{path}: column '{column}': non-numeric value {values[bad].iloc[0]!r} "
            f"at line {line}; features must be numbers"
        )
    infinite = np.isinf(values.astype(float))
    if infinite.any():
        raise DataError(f"{path}: column '{column}': infinite value at line {first_line(infinite)}")


PARAMS_SETTINGS = ("data.raw_path in params.yaml", "data.target in params.yaml")


def load_table(path, target: str, min_rows: int,
               settings: tuple = PARAMS_SETTINGS) -> pd.DataFrame:
    """Read ``path`` and validate it; raise DataError on the first broken rule.

    ``settings`` name where the path and the target come from, for the messages.
    """
    path_setting, target_setting = settings
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found; check {path_setting}")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: not a readable CSV file ({error})") from error
    check_target(frame, path, target, target_setting)
    features = [column for column in frame.columns if column != target]
    if not features:
        raise DataError(f"{path}: no feature columns besides the target '{target}'")
    for column in features:
        check_feature(frame, path, column)
    if len(frame) < min_rows:
        raise DataError(
            f"{path}: {len(frame)} rows, at least {min_rows} needed (data.min_rows in params.yaml)"
        )
    return frame


def split_features(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    return frame.drop(columns=[target]), frame[target]

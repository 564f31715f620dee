"""Stage 1: validate the raw CSV and split it into train and test sets."""
import math
import sys

import pandas as pd
from sklearn.model_selection import train_test_split

from {{ cookiecutter.module_name }} import paths
from {{ cookiecutter.module_name }}.load_data import DataError, load_table
from {{ cookiecutter.module_name }}.params import load_params
from {{ cookiecutter.module_name }}.stage import run_stage


def split(frame: pd.DataFrame, target: str, test_size: float, random_state: int):
    """Stratified split, so every class keeps its share in both sets."""
    classes = frame[target].nunique()
    test_rows = math.ceil(test_size * len(frame)) if test_size < 1 else int(test_size)
    if not classes <= test_rows <= len(frame) - classes:
        raise DataError(
            f"prepare.test_size: {test_size} gives {test_rows} test rows of {len(frame)}; "
            f"each set needs at least one row per class ({classes} classes)"
        )
    return train_test_split(
        frame, test_size=test_size, random_state=random_state, stratify=frame[target]
    )


def main() -> None:
    params = load_params()
    data = params["data"]
    frame = load_table(data["raw_path"], data["target"], data["min_rows"])
    train, test = split(frame, data["target"], **params["prepare"])
    paths.PREPARED_DIR.mkdir(parents=True, exist_ok=True)
    train.to_csv(paths.TRAIN_CSV, index=False)
    test.to_csv(paths.TEST_CSV, index=False)
    print(f"prepare: {len(train)} train rows, {len(test)} test rows")


if __name__ == "__main__":
    sys.exit(run_stage("prepare", main))

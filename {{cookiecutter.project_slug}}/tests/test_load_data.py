"""Bad data must stop the first stage with the file, column and rule named."""
import pytest

from {{ cookiecutter.module_name }}.load_data import DataError, load_table
from stage_workspace import make_frame


def write(tmp_path, frame):
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


def test_valid_table_loads(tmp_path):
    frame = load_table(write(tmp_path, make_frame()), "target", min_rows=10)
    assert list(frame.columns) == ["signal", "noise", "count", "target"]


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"missing\.csv: file not found"):
        load_table(tmp_path / "missing.csv", "target", min_rows=10)


def test_missing_target_column(tmp_path):
    path = write(tmp_path, make_frame().drop(columns=["target"]))
    with pytest.raises(DataError, match=r"column 'target': target column not found"):
        load_table(path, "target", min_rows=10)


def test_non_numeric_feature_names_column_and_line(tmp_path):
    frame = make_frame().astype({"noise": object})
    frame.loc[4, "noise"] = "high"
    with pytest.raises(DataError, match=r"column 'noise': non-numeric value 'high' at line 6"):
        load_table(write(tmp_path, frame), "target", min_rows=10)


def test_all_empty_column(tmp_path):
    frame = make_frame()
    frame["blank"] = None
    with pytest.raises(DataError, match=r"column 'blank': every value is empty"):
        load_table(write(tmp_path, frame), "target", min_rows=10)


def test_too_few_rows(tmp_path):
    with pytest.raises(DataError, match=r"12 rows, at least 30 needed"):
        load_table(write(tmp_path, make_frame(rows=12)), "target", min_rows=30)


def test_empty_target_value(tmp_path):
    frame = make_frame().astype({"target": float})
    frame.loc[2, "target"] = None
    with pytest.raises(DataError, match=r"column 'target': empty target at line 4"):
        load_table(write(tmp_path, frame), "target", min_rows=10)


def test_single_class_target(tmp_path):
    frame = make_frame().assign(target=1)
    with pytest.raises(DataError, match=r"needs at least two classes"):
        load_table(write(tmp_path, frame), "target", min_rows=10)


def test_class_with_a_single_row(tmp_path):
    frame = make_frame(rows=30)
    frame.loc[5, "target"] = 7
    with pytest.raises(DataError, match=r"column 'target': class '7' has only 1 row"):
        load_table(write(tmp_path, frame), "target", min_rows=10)


def test_infinite_value(tmp_path):
    frame = make_frame()
    frame.loc[7, "signal"] = float("inf")
    with pytest.raises(DataError, match=r"column 'signal': infinite value at line 9"):
        load_table(write(tmp_path, frame), "target", min_rows=10)

"""The bundled dataset export: the CSV the pipeline starts from."""
from {{ cookiecutter.module_name }} import dataset
from {{ cookiecutter.module_name }}.data import load_table


def test_export_writes_a_valid_table_once(tmp_path):
    path = tmp_path / "raw.csv"
    assert dataset.export(path) is True
    frame = load_table(path, "target", min_rows=100)
    assert all(name == dataset.column_name(name) for name in frame.columns)
    assert dataset.export(path) is False


def test_column_names_are_identifiers():
    assert dataset.column_name("mean radius") == "mean_radius"
    assert dataset.column_name("od280/od315_of_diluted_wines") == "od280_od315_of_diluted_wines"
    assert dataset.column_name("sepal length (cm)") == "sepal_length_cm"

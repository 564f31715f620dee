"""The bundled_data stage: a scikit-learn dataset as the CSV the pipeline starts from."""
import pytest

from {{ cookiecutter.module_name }} import bundled_data, paths
from {{ cookiecutter.module_name }}.load_data import load_table
from {{ cookiecutter.module_name }}.params import ParamsError
from stage_workspace import set_params


@pytest.mark.parametrize("dataset", sorted(bundled_data.LOADERS))
def test_each_bundled_dataset_passes_the_pipeline_checks(tmp_path, dataset):
    path = tmp_path / "raw.csv"
    bundled_data.write_csv(dataset, path)
    frame = load_table(path, "target", min_rows=100)
    assert all(name == bundled_data.column_name(name) for name in frame.columns)


def test_stage_writes_the_dataset_params_name(workspace):
    set_params(workspace, data={"bundled": "iris"})
    assert bundled_data.run_stage("bundled_data", bundled_data.main) == 0
    frame = load_table(paths.BUNDLED_CSV, "target", min_rows=100)
    assert len(frame) == 150 and frame["target"].nunique() == 3


def test_unknown_dataset_is_a_config_error():
    with pytest.raises(ParamsError, match="data.bundled: 'digits' is not one of"):
        bundled_data.load_bundled("digits")


def test_column_names_are_identifiers():
    assert bundled_data.column_name("mean radius") == "mean_radius"
    wine = "od280/od315_of_diluted_wines"
    assert bundled_data.column_name(wine) == "od280_od315_of_diluted_wines"
    assert bundled_data.column_name("sepal length (cm)") == "sepal_length_cm"

"""Each stage on small frames: the right outputs, and clear config errors."""
import json

import joblib
import pandas as pd
import pytest

from {{ cookiecutter.module_name }} import evaluate, featurize, paths, prepare, train
from {{ cookiecutter.module_name }}.load_data import DataError
from {{ cookiecutter.module_name }}.featurize import build_featurizer
from {{ cookiecutter.module_name }}.models import build_classifier
from {{ cookiecutter.module_name }}.params import ParamsError
from stage_workspace import make_frame, set_params, write_raw


def test_split_is_stratified():
    frame = make_frame(rows=100, classes=2)
    train_set, test_set = prepare.split(frame, "target", test_size=0.2, random_state=0)
    assert (len(train_set), len(test_set)) == (80, 20)
    assert test_set["target"].value_counts().tolist() == [10, 10]


@pytest.mark.parametrize("test_size", [0.05, 0.99])
def test_split_too_small_for_the_classes_is_a_data_error(test_size):
    frame = make_frame(rows=40, classes=10)
    with pytest.raises(DataError, match=r"prepare.test_size: .* \(10 classes\)"):
        prepare.split(frame, "target", test_size=test_size, random_state=0)


@pytest.mark.parametrize("scale", ["standard", "minmax", "none"])
def test_featurizer_keeps_feature_names(scale):
    features = make_frame().drop(columns=["target"])
    features.loc[0, "noise"] = None
    transformed = build_featurizer("median", scale).fit_transform(features)
    assert list(transformed.columns) == list(features.columns)
    assert not transformed.isna().any().any()


def test_unknown_scaler_is_a_config_error():
    with pytest.raises(ParamsError, match="featurize.scale"):
        build_featurizer("median", "log")


@pytest.mark.parametrize("family", ["random_forest", "logistic_regression"])
def test_each_model_family_learns(family):
    frame = make_frame(rows=80)
    params = {"model": family, "random_state": 0, family: {}}
    classifier = build_classifier(params).fit(frame[["signal", "noise"]], frame["target"])
    assert classifier.score(frame[["signal", "noise"]], frame["target"]) > 0.9


def test_unknown_model_family():
    with pytest.raises(ParamsError, match="unknown model family 'svm'"):
        build_classifier({"model": "svm", "random_state": 0})


def test_unknown_hyperparameter():
    with pytest.raises(ParamsError, match="train.random_forest"):
        build_classifier({"model": "random_forest", "random_state": 0,
                          "random_forest": {"n_trees": 3}})


def run_pipeline():
    for stage in (prepare, featurize, train, evaluate):
        stage.main()


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("family", ["random_forest", "logistic_regression"])
def test_pipeline_end_to_end(workspace, classes, family):
    set_params(workspace, train={"model": family})
    write_raw(workspace, make_frame(rows=90, classes=classes))
    run_pipeline()

    scores = json.loads(paths.METRICS.read_text())
    assert scores["accuracy"] > 0.8
    assert set(scores) >= {"accuracy", "f1_macro", "roc_auc", "log_loss"}
    model = joblib.load(paths.MODEL)
    test_set = pd.read_csv(paths.TEST_CSV)
    assert len(model.predict(test_set.drop(columns=["target"]))) == len(test_set)
    schema = json.loads(paths.SCHEMA.read_text())
    assert [feature["name"] for feature in schema["features"]] == ["signal", "noise", "count"]
    assert schema["classes"] == list(range(classes))
    for name, plot in paths.PLOTS.items():
        assert json.loads(plot.read_text())[name]


def test_pipeline_is_deterministic(workspace):
    write_raw(workspace, make_frame(rows=90))
    run_pipeline()
    first = paths.METRICS.read_bytes()
    run_pipeline()
    assert paths.METRICS.read_bytes() == first


def test_bad_data_stops_prepare_before_any_output(workspace, capsys):
    frame = make_frame().astype({"noise": object})
    frame.loc[3, "noise"] = "oops"
    write_raw(workspace, frame)
    assert prepare.run_stage("prepare", prepare.main) == 2
    assert "column 'noise': non-numeric value 'oops' at line 5" in capsys.readouterr().err
    assert not paths.PREPARED_DIR.exists()

"""The export stage: ONNX must predict what scikit-learn predicts, or fail loudly."""
import json

import joblib
import numpy as np
import onnx
import onnxruntime
import pytest

from {{ cookiecutter.module_name }} import export, paths
from stage_workspace import make_frame, train_in


def awkward_rows(classes: int):
    """Rows the test set lacks: missing values and values far outside training."""
    rows = make_frame(rows=40, classes=classes, seed=1).drop(columns=["target"]).astype(float)
    rows.iloc[::5, 0] = np.nan
    rows.iloc[1::7, 1] = 50.0
    rows.iloc[2::9, 2] = -3.0
    return rows


# Each family, each scaler and both binary and multi-class targets, in 6 runs.
CASES = [("random_forest", 2, "standard"), ("random_forest", 3, "minmax"),
         ("random_forest", 2, "none"), ("logistic_regression", 2, "standard"),
         ("logistic_regression", 3, "minmax"), ("logistic_regression", 3, "none")]


@pytest.mark.parametrize("family, classes, scale", CASES)
def test_onnx_predicts_what_sklearn_predicts(tmp_path, family, classes, scale):
    directory = train_in(tmp_path, make_frame(rows=90, classes=classes),
                         train={"model": family}, featurize={"scale": scale})
    check = json.loads((directory / paths.ONNX_CHECK).read_text())
    assert check["rows"] == 18 and check["labels_equal"]
    assert check["max_abs_probability_difference"] <= export.PROBABILITY_TOLERANCE

    session = onnxruntime.InferenceSession(str(directory / paths.ONNX_MODEL))
    model = joblib.load(directory / paths.MODEL)
    comparison = export.compare(session, model, awkward_rows(classes))
    assert comparison["labels_equal"], comparison
    assert comparison["max_abs_probability_difference"] <= export.PROBABILITY_TOLERANCE


def test_graph_takes_one_float64_matrix_in_schema_order(trained_model):
    session = onnxruntime.InferenceSession(str(trained_model / paths.ONNX_MODEL))
    (model_input,) = session.get_inputs()
    assert (model_input.name, model_input.type) == ("features", "tensor(double)")
    assert model_input.shape[1] == 3
    assert [output.name for output in session.get_outputs()] == ["label", "probabilities"]


@pytest.fixture
def convert_with_opsets(monkeypatch):
    """export.convert, with skl2onnx listing the opsets in a chosen order."""
    to_onnx = export.to_onnx

    def convert(model, descending: bool):
        def to_onnx_ordered(*args, **kwargs):
            onnx_model = to_onnx(*args, **kwargs)
            opsets = sorted(((opset.domain, opset.version)
                             for opset in onnx_model.opset_import), reverse=descending)
            del onnx_model.opset_import[:]
            onnx_model.opset_import.extend(onnx.helper.make_opsetid(*opset) for opset in opsets)
            return onnx_model

        monkeypatch.setattr(export, "to_onnx", to_onnx_ordered)
        return export.convert(model, 3).SerializeToString()
    return convert


def test_the_same_model_gives_the_same_bytes_whatever_the_opset_order(
        trained_model, convert_with_opsets):
    # skl2onnx lists the opsets in hash-seed order: DVC saw a new model.onnx.
    model = joblib.load(trained_model / paths.MODEL)
    assert convert_with_opsets(model, descending=True) == convert_with_opsets(
        model, descending=False)


def test_a_difference_fails_the_stage_and_writes_no_model(tmp_path, monkeypatch, capsys):
    train_in(tmp_path, make_frame(rows=60))
    monkeypatch.chdir(tmp_path)
    paths.ONNX_MODEL.unlink()
    monkeypatch.setattr(export, "PROBABILITY_TOLERANCE", -1.0)
    assert export.run_stage("export", export.main) == 2
    assert "ONNX model differs from scikit-learn on the test set" in capsys.readouterr().err
    assert not paths.ONNX_MODEL.exists()

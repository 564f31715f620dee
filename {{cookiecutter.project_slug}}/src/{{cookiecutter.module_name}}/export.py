"""Stage 5: convert the trained pipeline to ONNX and prove it predicts the same.

The serving image runs models/model.onnx with onnxruntime: no scikit-learn,
no pandas, and a fraction of the latency. The stage fails unless the ONNX model
gives the same labels as scikit-learn on every held-out row and probabilities
within PROBABILITY_TOLERANCE.

The graph takes ONE float64 tensor, columns in schema.json order. Imputing and
scaling run in float64, exactly as scikit-learn computes them; trees then see
float32, as they do in scikit-learn. (A float32 input would round the raw
values first, which flips tree splits: we measured probability errors of 0.01.)
"""
import json
import sys

import joblib
import numpy as np
import onnx
import onnxruntime
import pandas as pd
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import to_onnx
from skl2onnx.common.data_types import DoubleTensorType
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline

from {{ cookiecutter.module_name }} import paths
from {{ cookiecutter.module_name }}.params import load_params
from {{ cookiecutter.module_name }}.schema import read_schema
from {{ cookiecutter.module_name }}.stage import UserError, run_stage

INPUT_NAME = "features"
# Pinned so the same onnx/onnxruntime versions always give the same graph.
TARGET_OPSET = {"": 18, "ai.onnx.ml": 3}
PROBABILITY_TOLERANCE = 1e-5


class ExportError(UserError):
    """The ONNX model would not predict what the scikit-learn model predicts.

    A user error (exit code 2, no traceback): the fix is another model or
    featurize setting in params.yaml, or a converter for a custom step.
    """


def steps_of(model):
    """Every estimator in ``model``, nested pipelines flattened, in order."""
    if isinstance(model, Pipeline):
        for _, step in model.steps:
            yield from steps_of(step)
    else:
        yield model


def impute_in_float64(graph: onnx.GraphProto, imputers: list) -> None:
    """Replace each ONNX Imputer (float32 fill values only) by IsNaN + Where in float64."""
    rewritten = []
    imputer_nodes = [node for node in graph.node if node.op_type == "Imputer"]
    if len(imputer_nodes) != len(imputers):
        raise ExportError(f"found {len(imputer_nodes)} ONNX imputers for {len(imputers)} "
                          "SimpleImputer steps")
    fills = dict(zip((node.name for node in imputer_nodes), imputers))
    for node in graph.node:
        if node.op_type != "Imputer":
            rewritten.append(node)
            continue
        fill = numpy_helper.from_array(
            fills[node.name].statistics_.astype(np.float64), name=f"{node.name}_fill")
        graph.initializer.append(fill)
        is_missing = f"{node.name}_is_missing"
        rewritten.append(helper.make_node("IsNaN", [node.input[0]], [is_missing]))
        rewritten.append(helper.make_node(
            "Where", [is_missing, fill.name, node.input[0]], [node.output[0]]))
    del graph.node[:]
    graph.node.extend(rewritten)


def trees_read_float32(graph: onnx.GraphProto) -> None:
    """scikit-learn casts features to float32 before a tree; do the same in the graph."""
    rewritten = []
    for node in graph.node:
        if node.op_type.startswith("TreeEnsemble"):
            as_float32 = f"{node.name}_float32_input"
            rewritten.append(helper.make_node(
                "Cast", [node.input[0]], [as_float32], to=TensorProto.FLOAT))
            node.input[0] = as_float32
        rewritten.append(node)
    del graph.node[:]
    graph.node.extend(rewritten)


def sort_opset_imports(onnx_model: onnx.ModelProto) -> None:
    """List the opsets by domain: skl2onnx lists them in set order, which
    changes with Python's hash seed, so the same model gave different bytes
    and DVC re-ran this stage instead of restoring it from the run-cache."""
    opsets = sorted((opset.domain, opset.version) for opset in onnx_model.opset_import)
    del onnx_model.opset_import[:]
    onnx_model.opset_import.extend(helper.make_opsetid(domain, version)
                                   for domain, version in opsets)


def convert(model: Pipeline, n_features: int) -> onnx.ModelProto:
    classifier = list(steps_of(model))[-1]
    onnx_model = to_onnx(
        model,
        initial_types=[(INPUT_NAME, DoubleTensorType([None, n_features]))],
        # zipmap off: probabilities come out as a plain [rows, classes] tensor.
        options={id(classifier): {"zipmap": False}},
        target_opset=TARGET_OPSET,
    )
    imputers = [step for step in steps_of(model) if isinstance(step, SimpleImputer)]
    impute_in_float64(onnx_model.graph, imputers)
    trees_read_float32(onnx_model.graph)
    sort_opset_imports(onnx_model)
    onnx.checker.check_model(onnx_model)
    return onnx_model


def session_for(onnx_model: onnx.ModelProto) -> onnxruntime.InferenceSession:
    # One thread: the trees' sums then add up in one order on every machine,
    # so onnx_check.json is byte-identical on a laptop and on a 2-core CI
    # runner, and DVC restores this stage instead of re-running it.
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(
        onnx_model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def compare(session: onnxruntime.InferenceSession, model: Pipeline,
            features: pd.DataFrame) -> dict:
    """How far ONNX is from scikit-learn on ``features``."""
    labels, probabilities = session.run(None, {INPUT_NAME: features.to_numpy(np.float64)})
    expected_labels = model.predict(features)
    difference = np.abs(probabilities - model.predict_proba(features))
    return {
        "rows": len(features),
        "labels_equal": bool(np.array_equal(labels, expected_labels)),
        "label_mismatches": int(np.sum(labels != expected_labels)),
        "max_abs_probability_difference": float(difference.max()),
        "probability_tolerance": PROBABILITY_TOLERANCE,
    }


def check_exact(comparison: dict) -> None:
    difference = comparison["max_abs_probability_difference"]
    if not comparison["labels_equal"] or difference > PROBABILITY_TOLERANCE:
        raise ExportError(
            f"ONNX model differs from scikit-learn on the test set: "
            f"{comparison['label_mismatches']} of {comparison['rows']} labels differ, "
            f"max probability difference {difference:.3g} (tolerance {PROBABILITY_TOLERANCE})"
        )


def main() -> None:
    params = load_params()
    model = joblib.load(paths.MODEL)
    names = [feature["name"] for feature in read_schema(paths.SCHEMA)["features"]]
    if list(model.feature_names_in_) != names:
        raise ExportError(f"{paths.SCHEMA} lists features {names}, the model was trained on "
                          f"{list(model.feature_names_in_)}")
    onnx_model = convert(model, len(names))
    test_features = pd.read_csv(paths.TEST_CSV).drop(columns=[params["data"]["target"]])
    comparison = compare(session_for(onnx_model), model, test_features[names])
    print(f"export: ONNX vs scikit-learn on {comparison['rows']} test rows: "
          f"labels equal {comparison['labels_equal']}, max probability difference "
          f"{comparison['max_abs_probability_difference']:.3g}")
    check_exact(comparison)
    paths.ONNX_MODEL.write_bytes(onnx_model.SerializeToString())
    paths.ONNX_CHECK.write_text(json.dumps(comparison, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(run_stage("export", main))

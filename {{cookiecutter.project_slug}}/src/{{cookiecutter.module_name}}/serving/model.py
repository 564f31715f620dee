"""Load models/model.onnx and its schema; predict on a validated matrix."""
import hashlib
from pathlib import Path

import numpy as np
import onnxruntime

from {{ cookiecutter.module_name }}.feature_schema import features_of, read_schema

# The export stage writes a model that takes float64 rows, as scikit-learn does.
INPUT_TYPE = "tensor(double)"


class ModelLoadError(RuntimeError):
    """The model or schema file is missing or unusable."""


def file_version(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def new_session(path: Path) -> onnxruntime.InferenceSession:
    onnxruntime.disable_telemetry_events()  # a served model reports to nobody
    options = onnxruntime.SessionOptions()
    # One request is tiny: threads cost more to wake than they save. Scale
    # with more processes/replicas instead.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(
        str(path), options, providers=["CPUExecutionProvider"])


class Model:
    """The ONNX pipeline plus what the API needs from schema.json."""

    def __init__(self, model_path: Path, schema_path: Path, version: str = ""):
        for path in (model_path, schema_path):
            if not Path(path).is_file():
                raise ModelLoadError(f"{path}: file not found (run `make repro` to create it)")
        schema = read_schema(schema_path)
        self.features = features_of(schema)
        self.classes = schema["classes"]
        self.session = new_session(Path(model_path))
        model_input = self.session.get_inputs()[0]
        if model_input.shape[1] != len(self.features):
            raise ModelLoadError(
                f"{model_path} takes {model_input.shape[1]} features, "
                f"{schema_path} lists {len(self.features)}")
        if model_input.type != INPUT_TYPE:
            raise ModelLoadError(f"{model_path} takes {model_input.type}, not {INPUT_TYPE}: "
                                 "export it again (`make repro`)")
        self.input_name = model_input.name
        # Named outputs and one RunOptions for every run: left out, ONNX
        # Runtime makes both anew on each call (2 us of a 20 us run, measured).
        self.output_names = [output.name for output in self.session.get_outputs()]
        self.run_options = onnxruntime.RunOptions()
        self.version = version or file_version(Path(model_path))

    @property
    def feature_names(self) -> list:
        return [feature.name for feature in self.features]

    def predict(self, matrix: np.ndarray) -> tuple:
        """Labels and class probabilities (columns in self.classes order)."""
        labels, probabilities = self.session.run(
            self.output_names, {self.input_name: matrix.astype(np.float64, copy=False)},
            self.run_options)
        return labels, probabilities

"""Small frames and throwaway workspaces with their own params.yaml, for the
stage tests (conftest.py turns them into fixtures)."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def make_frame(rows: int = 60, classes: int = 2, seed: int = 0) -> pd.DataFrame:
    """A small learnable dataset: the target depends on the first feature."""
    generator = np.random.default_rng(seed)
    target = np.arange(rows) % classes
    return pd.DataFrame({
        "signal": target + generator.normal(0, 0.3, rows),
        "noise": generator.normal(0, 1, rows),
        "count": generator.integers(0, 10, rows),
        "target": target,
    })


# The tests' own data and split: editing params.yaml's data section for your
# dataset changes nothing here.
TEST_DATA = {"raw_path": "data/raw/test.csv", "target": "target", "min_rows": 10}
TEST_SPLIT = {"test_size": 0.2, "random_state": 42}


def params_for_tests() -> dict:
    """params.yaml with the tests' data and split; every other section as configured."""
    params = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
    return {**params, "data": dict(TEST_DATA), "prepare": dict(TEST_SPLIT)}


def set_params(workspace: Path, **sections) -> dict:
    """Override params.yaml sections, e.g. set_params(ws, train={"model": ...})."""
    path = workspace / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for section, values in sections.items():
        params[section].update(values)
    path.write_text(yaml.safe_dump(params))
    return params


def write_raw(workspace: Path, frame: pd.DataFrame) -> Path:
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    path = workspace / params["data"]["raw_path"]
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def train_in(directory: Path, frame: pd.DataFrame, **sections) -> Path:
    """Run prepare, featurize, train and export on ``frame`` inside ``directory``."""
    from {{ cookiecutter.module_name }} import export, featurize, prepare, train

    (directory / "params.yaml").write_text(yaml.safe_dump(params_for_tests()))
    set_params(directory, **sections)
    write_raw(directory, frame)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(directory)
        for stage in (prepare, featurize, train, export):
            stage.main()
    return directory


def serving_settings(directory: Path, **overrides):
    """Serving settings for the model, schema and reference profile that
    train_in() left in ``directory``."""
    from {{ cookiecutter.module_name }}.serving.config import Settings

    models = directory / "models"
    return Settings(model_path=models / "model.onnx", schema_path=models / "schema.json",
                    reference_profile_path=models / "reference_profile.json", **overrides)

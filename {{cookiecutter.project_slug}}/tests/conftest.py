"""Shared fixtures: a throwaway workspace, and a small model trained once."""
from pathlib import Path

import pytest
import yaml
from stage_workspace import make_frame, params_for_tests, train_in


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """Run a stage in a temp dir holding the tests' params.yaml."""
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params_for_tests()))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory) -> Path:
    """A directory holding models/model.onnx etc. of a small model, made once."""
    return train_in(tmp_path_factory.mktemp("trained"), make_frame(rows=90))

"""The registry's reading of GTO tags, against a real local git repository.
(Releases and promotions end to end run in the template's own tests.)"""
from pathlib import Path

import gto.api
import pytest
from git_commands import git

from {{ cookiecutter.module_name }} import registry

PROJECT = Path(__file__).resolve().parents[1]
ME = {"author": "Test", "author_email": "test@example.com"}


def test_the_model_artifact_is_declared_in_dvc_yaml():
    assert registry.artifact_name(PROJECT / "dvc.yaml") == "model"


def test_a_missing_artifact_is_a_clear_error(tmp_path):
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    with pytest.raises(registry.DeployError, match="exactly one artifact of type model"):
        registry.artifact_name(tmp_path / "dvc.yaml")


def test_the_latest_assignment_wins_so_a_rollback_shows(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    for number in (1, 2):
        git(tmp_path, "commit", "-q", "--allow-empty", "-m", f"release {number}")
        gto.api.register(str(tmp_path), "model", "HEAD",
                         message=f"model\n\ncommit: c{number}\nroc_auc: 0.9{number}\n", **ME)
    for version in ("v0.0.1", "v0.0.2", "v0.0.1"):
        gto.api.assign(str(tmp_path), "model", "production", version=version, force=True, **ME)

    reg = registry.Registry.read(tmp_path, "model")
    assert reg.versions["v0.0.2"][1] == {"commit": "c2", "roc_auc": "0.92"}
    # No metrics.json committed at the version: its record has the metric.
    assert registry.metric_value(tmp_path, "v0.0.2", *reg.versions["v0.0.2"], "roc_auc") == 0.92
    current = reg.current("production")
    assert (current.tag, current.version) == ("model#production#3", "v0.0.1")
    assert reg.current("production", before=current.number).version == "v0.0.2"
    # GTO's own reading orders by version number and still names v0.0.2.
    in_stage = gto.api.find_versions_in_stage(str(tmp_path), "model", "production")
    assert [vstage.version for vstage in in_stage] == ["v0.0.2"]

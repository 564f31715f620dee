"""Bringing your own data: checked first, tracked by DVC, params.yaml edited in place.

Each test runs the command in a copy of this project (git + DVC, no outputs).
"""
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from {{ cookiecutter.module_name }} import use_data
from stage_workspace import PROJECT_ROOT, make_frame

PACKAGE_DIR = PROJECT_ROOT / "src" / "{{ cookiecutter.module_name }}"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A copy of the project's pipeline definition, code and DVC config in a git repo."""
    copy = tmp_path / "project"
    shutil.copytree(PACKAGE_DIR, copy / "src" / PACKAGE_DIR.name,
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", "params.yaml", ".gitignore", ".dvcignore", ".dvc/config",
                 ".dvc/.gitignore", "data/raw/.gitkeep"):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT_ROOT / name, copy / name)
    # The tests' own data settings, whatever this project trains on.
    round_trip = use_data.round_trip()
    params = round_trip.load(copy / "params.yaml")
    params["data"].update(raw_path="data/raw/bundled.csv", bundled="iris", target="target",
                          min_rows=30)
    params["evaluate"]["primary_metric"] = "roc_auc"
    round_trip.dump(params, copy / "params.yaml")
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path / "dvc-site-cache"))
    monkeypatch.setenv("PYTHONPATH", str(copy / "src"))
    monkeypatch.chdir(copy)
    subprocess.run(["git", "init", "-q"], check=True)
    return copy


def snapshot(directory) -> dict:
    """Every file's bytes, but git's and DVC's internals (its cache, its temp files)."""
    def internal(parts):
        return parts[0] == ".git" or parts[:2] in ((".dvc", "cache"), (".dvc", "tmp"))
    return {path: path.read_bytes() for path in directory.rglob("*")
            if path.is_file() and not internal(path.relative_to(directory).parts)}


def unedited(params_text: str) -> list:
    """params.yaml's lines but those use_data may change."""
    edited = ("raw_path:", "target:", "bundled:", "primary_metric:")
    return [line for line in params_text.splitlines() if not line.strip().startswith(edited)]


def three_classes(tmp_path, name="grapes.csv"):
    """A multi-class CSV whose label column is not called target."""
    path = tmp_path / name
    make_frame(rows=90, classes=3).rename(columns={"target": "variety"}).to_csv(path, index=False)
    return path


def test_own_csv_replaces_the_bundled_stage_and_the_pipeline_runs_on_it(
        project, tmp_path, capsys):
    params_text = (project / "params.yaml").read_text()
    assert use_data.main(["--csv", str(three_classes(tmp_path)), "--target", "variety"]) == 0

    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    assert use_data.BUNDLED_STAGE not in stages and "prepare" in stages
    assert yaml.safe_load((project / "data/raw/grapes.csv.dvc").read_text())["outs"]
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["data"]["raw_path"] == "data/raw/grapes.csv"
    assert params["data"]["target"] == "variety" and "bundled" not in params["data"]
    assert params["evaluate"]["primary_metric"] != "roc_auc"
    # Comments and every other line stay as they were.
    assert unedited((project / "params.yaml").read_text()) == unedited(params_text)
    printed = capsys.readouterr().out
    assert "git add params.yaml dvc.yaml dvc.lock data/raw/grapes.csv.dvc" in printed

    subprocess.run([sys.executable, "-m", "dvc", "repro", "prepare"], check=True,
                   capture_output=True, env=os.environ)
    assert "variety" in (project / "data/prepared/train.csv").read_text().splitlines()[0]


def test_bad_csv_changes_nothing(project, tmp_path, capsys):
    frame = make_frame().astype({"noise": object})
    frame.loc[3, "noise"] = "n/a?"
    frame.to_csv(tmp_path / "bad.csv", index=False)
    before = snapshot(project)
    assert use_data.main(["--csv", str(tmp_path / "bad.csv"), "--target", "target"]) == 2
    assert "column 'noise': non-numeric value 'n/a?' at line 5" in capsys.readouterr().err
    assert snapshot(project) == before


def test_missing_target_names_the_option(project, tmp_path, capsys):
    before = snapshot(project)
    assert use_data.main(["--csv", str(three_classes(tmp_path)), "--target", "label"]) == 2
    assert "column 'label': target column not found" in capsys.readouterr().err
    assert snapshot(project) == before


def test_url_is_imported_and_a_bad_one_is_undone(project, tmp_path, capsys):
    bad = tmp_path / "remote" / "tiny.csv"
    bad.parent.mkdir()
    make_frame(rows=12).to_csv(bad, index=False)
    before = snapshot(project)
    assert use_data.main(["--url", str(bad), "--target", "target"]) == 2
    assert "12 rows, at least 30 needed" in capsys.readouterr().err
    assert snapshot(project) == before

    good = three_classes(tmp_path / "remote")
    assert use_data.main(["--url", str(good), "--target", "variety"]) == 0
    tracked = yaml.safe_load((project / "data/raw/grapes.csv.dvc").read_text())
    assert tracked["deps"][0]["path"] == str(good)

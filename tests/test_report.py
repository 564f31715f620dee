"""The pull-request report on a real baked project: main vs a feature branch.

Bakes the default project, runs the pipeline on main, changes a param on a
feature branch, runs it again, and checks `make report` against metrics read
independently from git, like a reviewer would.
"""
import json
import struct

import pytest

from conftest import bake, project_env, run

GIT_IDENTITY = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
                "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}


def git(project, *args) -> str:
    return run(["git", *args], project, env={**project_env(project), **GIT_IDENTITY}).stdout


def metrics_at(project, rev: str) -> dict:
    return json.loads(git(project, "show", f"{rev}:metrics.json"))


def table_row(report: str, first_cell: str) -> list:
    for line in report.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0] == first_cell:
            return cells
    raise AssertionError(f"no table row {first_cell!r} in:\n{report}")


def png_size(path) -> tuple:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def feature_branch(tmp_path_factory):
    """A project whose main has a pipeline run and whose feature branch uses 10 trees."""
    project = bake(tmp_path_factory.mktemp("report"))
    run(["make", "repro"], project)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "First pipeline run")
    git(project, "checkout", "-q", "-b", "feature")
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("n_estimators: 100", "n_estimators: 10"))
    run(["make", "repro"], project)
    git(project, "commit", "-q", "-am", "Fewer trees")
    return project


def test_report_matches_metrics_from_git(feature_branch):
    project = feature_branch
    run(["make", "report", "BASE_REV=main"], project)
    report = (project / "report.md").read_text()
    base, new = metrics_at(project, "main"), metrics_at(project, "feature")
    assert base != new
    base_sha, new_sha = (git(project, "rev-parse", rev).strip() for rev in ("main", "HEAD"))
    assert f"Base `main` at `{base_sha}`; workspace at `{new_sha}`." in report
    assert table_row(report, "`train.random_forest.n_estimators`")[1:] == ["`100`", "`10`"]
    for name in base:
        cells = table_row(report, "**roc_auc** (primary)" if name == "roc_auc" else name)
        assert float(cells[1]) == base[name] and float(cells[2]) == new[name]
        assert float(cells[3]) == pytest.approx(new[name] - base[name], abs=1e-6)
    change = new["roc_auc"] - base["roc_auc"]
    outcome = "improved" if change > 0 else "regressed" if change < 0 else "unchanged"
    assert f"**`roc_auc` {outcome}" in report
    for name in ("roc", "precision_recall", "confusion"):
        assert f"](report/{name}.png)" in report
        width, height = png_size(project / "report" / f"{name}.png")
        assert width > 1.5 * height > 300


def test_report_post_prints_the_cml_command(feature_branch):
    run(["make", "report", "BASE_REV=main"], feature_branch)
    result = run(["make", "-s", "report-post", "CML_POST=false"], feature_branch)
    assert result.stdout.strip() == (
        "CML_POST=false, would run: cml comment update --target=pr --publish report.md")


def test_report_in_a_shallow_ci_clone(feature_branch, tmp_path):
    """CI checks out the PR commit only: make report fetches main itself."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth=1", "--branch", "feature",
        feature_branch.as_uri(), str(clone))
    assert "main" not in git(clone, "branch", "-a")
    run(["make", "report", "BASE_REV=main"], clone)
    report = (clone / "report.md").read_text()
    assert f"Base `main` at `{git(feature_branch, 'rev-parse', 'main').strip()}`" in report


def test_unknown_base_fails_and_writes_nothing(feature_branch):
    (feature_branch / "report.md").unlink(missing_ok=True)
    result = run(["make", "report", "BASE_REV=no-such-branch"], feature_branch, check=False)
    assert result.returncode != 0
    assert "base revision 'no-such-branch' not found" in result.stderr
    assert not (feature_branch / "report.md").exists()

"""Run the generated project's pull-request pipeline on GitHub Actions (act),
GitLab CI (gitlab-ci-local) and Jenkins (its sh steps, read with tree-sitter):
each goes green, runs exactly the targets its CI file lists, and leaves the
same metrics.json and report.md; a failing unit test turns each one red.

How each system is run here, and what is off (posting: CML is replaced by a
stand-in that records its command line), is in tests/support/ci_run.py.
"""
from pathlib import Path

import pytest

from conftest import bake
from support import ci_pipelines as ci
from support.ci_run import (PROVIDERS, add_failing_test_branch, fast_venv, make_origin,
                            run_pull_request)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """The default project with an origin: main as CI left it, a `feature`
    branch (a changed param) and a `broken` branch (a failing unit test)."""
    root = tmp_path_factory.mktemp("ci-run")
    venv = fast_venv(root / "venv")
    project = bake(root / "bake")
    origin = make_origin(project, venv, root / "home")
    add_failing_test_branch(project, origin, "broken")
    return {"root": root, "venv": venv, "origin": origin, "project": project, "runs": {}}


def pipeline_run(repo, provider: str, branch: str):
    """Run once per (provider, branch) and remember the result for later tests."""
    key = (provider, branch)
    if key not in repo["runs"]:
        directory = repo["root"] / f"{provider}-{branch}"
        repo["runs"][key] = run_pull_request(provider, repo["origin"], branch, directory,
                                             repo["venv"])
    return repo["runs"][key]


def expected_targets(repo, provider: str) -> list:
    return ci.TARGETS[provider](repo["project"], "pull-request")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_pull_request_pipeline_goes_green(repo, provider):
    run = pipeline_run(repo, provider, "feature")
    assert run.returncode == 0, f"{provider} pipeline failed:\n{run.log[-6000:]}"
    assert run.targets == [(target, True) for target in expected_targets(repo, provider)]
    report = (run.outputs / "report.md").read_text()
    assert "`train.random_forest.n_estimators` | `100` | `50`" in report
    # Posted once, by CML pinned, with the token, from no checkout of the PR.
    (args,) = [line for line in run.cml_calls.splitlines() if line.startswith("args: ")]
    assert args.startswith("args: --yes @dvcorg/cml@0.20.6 comment update")
    assert "token: set" in run.cml_calls and "report.md" in args


def test_every_provider_leaves_the_same_outputs(repo):
    runs = [pipeline_run(repo, provider, "feature") for provider in PROVIDERS]
    assert all(run.returncode == 0 for run in runs), [run.provider for run in runs]
    for name in ("metrics.json", "report.md"):
        contents = {run.provider: (run.outputs / name).read_bytes() for run in runs}
        assert len(set(contents.values())) == 1, f"{name} differs between {sorted(contents)}"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_failing_unit_test_turns_the_pipeline_red(repo, provider):
    run = pipeline_run(repo, provider, "broken")
    assert run.returncode != 0
    assert "test_injected_failure" in run.log
    assert run.targets == [("install", True), ("lint", True), ("test", False)]
    assert not (Path(run.outputs) / "report.md").exists()

"""`make retrain` for real: a generated project that trains on a CSV in remote
storage (`make use-data URL=...`, i.e. `dvc import-url`; a local directory
stands in for the bucket), a bare git origin, a local DVC remote, and a local
HTTP server standing in for GitHub's REST API.

Unchanged data creates nothing; a new version of the data at its source gives
a commit on retrain/auto at origin and one pull request, updated (not
duplicated) by the next run. Git runs without a global identity, as on a bare
CI runner. Then each CI's retraining pipeline runs as its CI would start it
(act, gitlab-ci-local, the Jenkinsfile.retrain steps) and does the same.
"""
import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from support import ci_pipelines as ci
from support.alert_chain import stand_in_api
from support.ci_pipelines import PROVIDERS
from support.ci_run import REPOSITORY, fast_venv, run_retrain
from support.project import bake, git, project_env, run

PULLS = "/repos/org/model/pulls"
IMPORTED = "data/raw/data.csv"
MODULE = "tumor_classifier"
TOKEN = "gh-test-token"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(project checkout, its bare origin, the data file at its source)."""
    root = tmp_path_factory.mktemp("retrain")
    project = bake(root)
    run(["python", "-m", "dvc", "remote", "modify", "storage", "url", str(root / "dvc-remote")],
        project)
    run(["python", "-m", f"{MODULE}.bundled_data"], project)
    source = root / "store" / "data.csv"
    source.parent.mkdir()
    source.write_bytes((project / "data" / "raw" / "bundled.csv").read_bytes())
    run(["make", "use-data", "PYTHON=python", f"URL={source}", "TARGET=target"], project)
    run(["make", "repro", "PYTHON=python"], project)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "Train on the data in the store")
    git(root, "init", "-q", "--bare", "origin.git")
    git(project, "remote", "add", "origin", str(root / "origin.git"))
    git(project, "push", "-q", "origin", "main")
    return project, root / "origin.git", source


def retrain(project: Path, api_url: str) -> subprocess.CompletedProcess:
    env = {**project_env(project), "REPO_TOKEN": TOKEN,
           "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    return run(["make", "retrain", "PYTHON=python", "HOSTING=github", "HOSTING_REPO=org/model",
                f"HOSTING_API_URL={api_url}"], project, env=env)


def publish_new_version(source: Path, rows: int) -> None:
    """A new version of the data at its source: its first ``rows`` rows."""
    pd.read_csv(source).head(rows).to_csv(source, index=False)


def heads(origin: Path) -> list:
    return sorted(line.split("\t")[1] for line in
                  git(origin, "for-each-ref", "--format=%(objectname)\t%(refname)").splitlines())


def test_unchanged_data_creates_nothing(setup):
    project, origin, _ = setup
    with stand_in_api(project) as api:
        result = retrain(project, api.url)
    assert "data, model and metrics are unchanged: no branch, no request" in result.stdout
    assert heads(origin) == ["refs/heads/main"]
    assert api.requests == []
    assert git(project, "status", "--porcelain") == ""


def test_changed_data_opens_one_pull_request_and_updates_it(setup):
    project, origin, source = setup
    metrics_before = json.loads((project / "metrics.json").read_text())
    publish_new_version(source, rows=400)
    with stand_in_api(project) as api:
        api.answer("GET", PULLS, 200, [])
        api.answer("POST", PULLS, 201, {"number": 7, "html_url": "https://github.test/pull/7"})
        result = retrain(project, api.url)
    assert "retrain: opened https://github.test/pull/7" in result.stdout
    assert heads(origin) == ["refs/heads/main", "refs/heads/retrain/auto"]
    main = git(origin, "rev-parse", "main").strip()
    assert git(origin, "rev-parse", "retrain/auto^").strip() == main
    assert git(origin, "log", "-1", "--format=%an|%s", "retrain/auto") == (
        "CI deploy|retrain: scheduled run\n")
    changed = git(origin, "diff", "--name-only", "main", "retrain/auto").split()
    assert {f"{IMPORTED}.dvc", "dvc.lock", "metrics.json"} <= set(changed)
    assert json.loads(git(origin, "show", "retrain/auto:metrics.json")) != metrics_before

    lookup, create = api.requests
    assert (lookup.method, lookup.path, lookup.query) == (
        "GET", PULLS, {"state": "open", "head": "org:retrain/auto", "base": "main"})
    assert (create.method, create.path) == ("POST", PULLS)
    assert create.headers["Authorization"] == f"Bearer {TOKEN}"
    assert create.headers["Accept"] == "application/vnd.github+json"
    request = create.json()
    assert {key: request[key] for key in ("head", "base", "title")} == {
        "head": "retrain/auto", "base": "main", "title": "Retrain the model on refreshed data"}
    assert f"- `{IMPORTED}.dvc`" in request["body"] and "| accuracy" in request["body"]

    # A second data change while the request is open: same branch, same request.
    first = git(origin, "rev-parse", "retrain/auto").strip()
    git(project, "switch", "-q", "main")
    publish_new_version(source, rows=300)
    with stand_in_api(project) as api:
        api.answer("GET", PULLS, 200, [{"number": 7}])
        api.answer("PATCH", f"{PULLS}/7", 200,
                   {"number": 7, "html_url": "https://github.test/pull/7"})
        result = retrain(project, api.url)
    assert "retrain: updated https://github.test/pull/7" in result.stdout
    assert [(r.method, r.path) for r in api.requests] == [("GET", PULLS), ("PATCH", f"{PULLS}/7")]
    assert git(origin, "rev-parse", "retrain/auto").strip() != first
    assert git(origin, "rev-parse", "retrain/auto^").strip() == main
    assert heads(origin) == ["refs/heads/main", "refs/heads/retrain/auto"]


# Where each CI's pipeline opens the request: GitHub's repository (act's
# `github.repository`), GitLab's CI_PROJECT_ID, the Jenkinsfile's repo_url answer.
REQUESTS_PATH = {"github": f"/repos/{REPOSITORY}/pulls", "gitlab": "/projects/7/merge_requests",
                 "jenkins": "/repos/my-org/tumor-classifier/pulls"}

# How each hosting API takes the token (Jenkins' job here is on GitHub).
AUTH_HEADER = {"github": ("Authorization", f"Bearer {TOKEN}"), "gitlab": ("PRIVATE-TOKEN", TOKEN),
               "jenkins": ("Authorization", f"Bearer {TOKEN}")}


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    return fast_venv(tmp_path_factory.mktemp("retrain-venv") / "venv")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_ci_runs_retraining_and_opens_the_request(setup, venv, provider, tmp_path):
    """The same targets on every CI, from a fresh checkout of main, with the
    CI's token and hosting API: a new version of the data ends as a commit on
    retrain/auto and one request naming why the run started."""
    project, origin, source = setup
    publish_new_version(source, rows=len(pd.read_csv(source)) - 10)
    reason = f"FeatureDrift on {provider}"
    with stand_in_api(project) as api:
        path = REQUESTS_PATH[provider]
        api.answer("GET", path, 200, [])
        api.answer("POST", path, 201, {"number": 8, "iid": 8, "html_url": "https://hosting.test/8",
                                       "web_url": "https://hosting.test/8"})
        result = run_retrain(provider, origin, tmp_path, venv, api.url, TOKEN, reason)
    assert result.returncode == 0, result.log[-6000:]
    assert [target for target, _ in result.targets] == ci.TARGETS[provider](project, "retrain")
    assert "retrain: opened https://hosting.test/8" in result.log
    assert [(request.method, request.path) for request in api.requests] == [
        ("GET", path), ("POST", path)]
    header, value = AUTH_HEADER[provider]
    assert api.requests[1].headers[header] == value
    main = git(origin, "rev-parse", "main").strip()
    assert git(origin, "rev-parse", "retrain/auto^").strip() == main
    assert git(origin, "log", "-1", "--format=%s", "retrain/auto").strip() == f"retrain: {reason}"

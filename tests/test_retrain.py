"""`make retrain` for real: a generated project whose data is a `dvc import`
from a data registry (a git repo with its own local DVC remote), a bare git
origin, and a local HTTP server standing in for GitHub's REST API.

Unchanged data creates nothing; data changed in the registry gives a commit on
retrain/auto at origin and one pull request, updated (not duplicated) by the
next run. Git runs without a global identity, as on a bare CI runner.
"""
import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import bake, project_env, run
from support.alert_chain import stand_in_api

PULLS = "/repos/org/model/pulls"
IMPORTED = "data/raw/registry.csv"
TOKEN = "gh-test-token"


def git(cwd: Path, *args: str) -> str:
    return run(["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
               cwd).stdout


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(project checkout, its bare origin, a clone of the data registry)."""
    root = tmp_path_factory.mktemp("retrain")
    project = bake(root)
    run(["make", "data", "PYTHON=python"], project)
    raw = next((project / "data" / "raw").glob("*.csv"))

    # The data registry: data.csv tracked by DVC, pushed to a local remote.
    registry = root / "registry"
    registry.mkdir()
    git(registry, "init", "-q", "-b", "main")
    run(["python", "-m", "dvc", "init", "-q"], registry)
    run(["python", "-m", "dvc", "remote", "add", "-d", "storage", str(root / "dvc-remote")],
        registry)
    (registry / "data.csv").write_bytes(raw.read_bytes())
    run(["python", "-m", "dvc", "add", "-q", "data.csv"], registry)
    run(["python", "-m", "dvc", "push", "-q"], registry)
    git(registry, "add", "-A")
    git(registry, "commit", "-q", "-m", "data v1")
    git(root, "clone", "-q", "--bare", str(registry), "registry.git")
    git(registry, "remote", "add", "origin", str(root / "registry.git"))

    # The project trains on the registry's data and has pushed its results.
    run(["python", "-m", "dvc", "import", "-q", str(root / "registry.git"), "data.csv",
         "-o", IMPORTED], project)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["data"]["raw_path"] = IMPORTED
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["make", "repro", "PYTHON=python"], project)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "Train on the data registry")
    git(root, "init", "-q", "--bare", "origin.git")
    git(project, "remote", "add", "origin", str(root / "origin.git"))
    git(project, "push", "-q", "origin", "main")
    return project, root / "origin.git", registry


def retrain(project: Path, api_url: str) -> subprocess.CompletedProcess:
    env = {**project_env(project), "REPO_TOKEN": TOKEN,
           "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    return run(["make", "retrain", "PYTHON=python", "HOSTING=github", "HOSTING_REPO=org/model",
                f"HOSTING_API_URL={api_url}"], project, env=env)


def change_registry_data(registry: Path, rows: int) -> None:
    """Publish a new version of data.csv: its first ``rows`` rows."""
    data = registry / "data.csv"
    pd.read_csv(data).head(rows).to_csv(data, index=False)
    run(["python", "-m", "dvc", "add", "-q", "data.csv"], registry)
    run(["python", "-m", "dvc", "push", "-q"], registry)
    git(registry, "commit", "-q", "-am", f"data: first {rows} rows")
    git(registry, "push", "-q", "origin", "main")


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
    project, origin, registry = setup
    metrics_before = json.loads((project / "metrics.json").read_text())
    change_registry_data(registry, rows=400)
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
    change_registry_data(registry, rows=300)
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

"""`make retrain`'s git and hosting-API side, against real git and a stand-in API.

The full run (a DVC import updated, `make repro`, a push to a bare origin) is
exercised by the template's own tests; these pin down each piece.
"""

import pytest
from api_stand_in import StandInApi
from git_commands import git

from {{ cookiecutter.module_name }} import hosting, retrain

PULLS = "/repos/org/model/pulls"
MERGE_REQUESTS = "/projects/group%2Fmodel/merge_requests"


@pytest.fixture
def api():
    with StandInApi() as stand_in:
        yield stand_in


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A clone of a bare origin whose main holds one tracked file; the cwd."""
    seed = tmp_path / "seed"
    seed.mkdir()
    git(seed, "init", "-q", "-b", "main")
    (seed / "metrics.json").write_text('{"accuracy": 0.9}\n')
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "seed")
    git(tmp_path, "clone", "-q", "--bare", str(seed), "origin.git")
    git(tmp_path, "clone", "-q", "origin.git", "checkout")
    monkeypatch.chdir(tmp_path / "checkout")
    return tmp_path / "checkout"


def test_github_opens_a_pull_request_when_none_is_open(api):
    api.answer("GET", PULLS, 200, [])
    api.answer("POST", PULLS, 201, {"number": 5, "html_url": "https://github.test/pull/5"})
    client = hosting.client("github", api.url, "org/model", "gh-token")
    assert hosting.open_or_update(client, "retrain/auto", "main", "T", "B") == (
        "opened https://github.test/pull/5")
    lookup, create = api.requests
    assert lookup.query == {"state": "open", "head": "org:retrain/auto", "base": "main"}
    assert (create.method, create.path) == ("POST", PULLS)
    assert create.headers["Authorization"] == "Bearer gh-token"
    assert create.json() == {"title": "T", "head": "retrain/auto", "base": "main", "body": "B"}


def test_github_updates_the_open_pull_request_instead_of_duplicating_it(api):
    api.answer("GET", PULLS, 200, [{"number": 5}])
    api.answer("PATCH", f"{PULLS}/5", 200, {"number": 5, "html_url": "https://github.test/5"})
    client = hosting.client("github", api.url, "org/model", "gh-token")
    assert hosting.open_or_update(client, "retrain/auto", "main", "T", "B2").startswith("updated ")
    assert [(r.method, r.path) for r in api.requests] == [("GET", PULLS), ("PATCH", f"{PULLS}/5")]
    assert api.requests[1].json() == {"title": "T", "body": "B2"}


def test_gitlab_opens_then_updates_one_merge_request(api):
    api.answer("GET", MERGE_REQUESTS, 200, [])
    api.answer("POST", MERGE_REQUESTS, 201, {"iid": 3, "web_url": "https://gitlab.test/3"})
    client = hosting.client("gitlab", api.url, "group/model", "glpat-token")
    assert hosting.open_or_update(client, "retrain/auto", "main", "T", "B") == (
        "opened https://gitlab.test/3")
    create = api.requests[1]
    assert create.headers["Private-Token"] == "glpat-token"
    assert create.json() == {"source_branch": "retrain/auto", "target_branch": "main",
                             "title": "T", "description": "B", "remove_source_branch": True}
    api.answer("GET", MERGE_REQUESTS, 200, [{"iid": 3}])
    api.answer("PUT", f"{MERGE_REQUESTS}/3", 200, {"iid": 3, "web_url": "https://gitlab.test/3"})
    assert hosting.open_or_update(client, "retrain/auto", "main", "T", "B2").startswith("updated ")
    assert api.requests[-1].json() == {"title": "T", "description": "B2"}


def test_a_missing_token_is_named():
    with pytest.raises(ValueError, match="HOSTING=github needs REPO_TOKEN"):
        hosting.client("github", "", "org/model", "")


def test_unchanged_outputs_create_no_branch(checkout, api, capsys):
    client = hosting.client("github", api.url, "org/model", "gh-token")
    assert not retrain.publish("retrain/auto", "main", "scheduled run", client)
    assert "unchanged: no branch, no request" in capsys.readouterr().out
    assert git(checkout, "ls-remote", "--heads", "origin").count("refs/heads/") == 1
    assert api.requests == []


def test_changed_outputs_are_pushed_to_the_branch_and_proposed(checkout, api):
    api.answer("GET", PULLS, 200, [])
    api.answer("POST", PULLS, 201, {"number": 1, "html_url": "https://github.test/pull/1"})
    (checkout / "metrics.json").write_text('{"accuracy": 0.95}\n')
    (checkout / "dvc.lock").write_text("schema: '2.0'\n")
    client = hosting.client("github", api.url, "org/model", "gh-token")
    assert retrain.publish("retrain/auto", "main", "FeatureDrift (a)", client)
    assert git(checkout, "log", "-1", "--format=%s", "origin/main") == "seed\n"
    git(checkout, "fetch", "-q", "origin")
    assert git(checkout, "log", "-1", "--format=%s", "origin/retrain/auto") == (
        "retrain: FeatureDrift (a)\n")
    assert git(checkout, "diff", "--name-only", "origin/main", "origin/retrain/auto").split() == [
        "dvc.lock", "metrics.json"]
    body = api.requests[-1].json()["body"]
    assert "Automated retraining (FeatureDrift (a))" in body and "- `dvc.lock`" in body


def test_imports_are_the_dvc_files_with_a_source(checkout):
    (checkout / "imported.csv.dvc").write_text(
        "deps:\n- path: data.csv\n  repo:\n    url: ../registry\nouts:\n- path: imported.csv\n")
    (checkout / "url.csv.dvc").write_text(
        "deps:\n- path: s3://bucket/url.csv\nouts:\n- path: url.csv\n")
    (checkout / "added.csv.dvc").write_text("outs:\n- md5: 0\n  path: added.csv\n")
    git(checkout, "add", "-A")
    assert retrain.imports() == ["imported.csv.dvc", "url.csv.dvc"]


def test_a_pipeline_that_did_not_run_is_an_error_not_unchanged(checkout, tmp_path):
    unavailable = tmp_path / "data-unavailable.txt"
    unavailable.write_text("The DVC remote could not be read\n")
    with pytest.raises(retrain.RetrainError,
                       match="the pipeline did not run: The DVC remote could not be read"):
        retrain.publish("retrain/auto", "main", "scheduled run", None, unavailable)


def test_refresh_refuses_a_dirty_tree(checkout):
    (checkout / "metrics.json").write_text("{}\n")
    with pytest.raises(retrain.RetrainError, match=r"uncommitted changes \(metrics.json\)"):
        retrain.refresh()

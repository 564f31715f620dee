"""make template-check: up to date or behind, by branch or tag, and a notice
(exit 0) when it cannot tell. A local git repository stands in for the template."""
import json

import pytest
from git_commands import git

from {{ cookiecutter.module_name }} import template_check


@pytest.fixture
def template(tmp_path):
    """A template repository with a release tag (annotated, as `make release` makes)."""
    repository = tmp_path / "template"
    repository.mkdir()
    git(repository, "init", "-q", "-b", "main")
    git(repository, "commit", "-q", "--allow-empty", "-m", "v1")
    git(repository, "tag", "-a", "v1.0.0", "-m", "v1.0.0")
    return repository


def head(repository) -> str:
    return git(repository, "rev-parse", "HEAD").strip()


def commit(repository) -> str:
    git(repository, "commit", "-q", "--allow-empty", "-m", "next")
    return head(repository)


@pytest.fixture
def project(tmp_path, monkeypatch, template):
    directory = tmp_path / "project"
    directory.mkdir()
    monkeypatch.chdir(directory)
    record(template, head(template))
    return directory


def record(template, sha: str) -> None:
    state = {"template": str(template), "commit": sha,
             "context": {"cookiecutter": {"_template_version": "1.0.0"}}}
    template_check.STATE_FILE.write_text(json.dumps(state))


def test_up_to_date_then_behind_when_the_template_moves_on(project, template, capsys):
    first = head(template)
    assert template_check.main([]) == 0
    assert capsys.readouterr().out == f"template: up to date (v1.0.0 {first[:12]})\n"
    latest = commit(template)
    assert template_check.main([]) == 0  # a notice, not a failure
    assert capsys.readouterr().out == (
        f"template: behind (this project: v1.0.0 {first[:12]}; the template: {latest[:12]}); "
        "run make template-update\n")
    record(template, latest)
    template_check.main([])
    assert capsys.readouterr().out.startswith("template: up to date")


def test_a_tag_is_compared_by_its_commit_not_the_tag_object(project, template, capsys):
    commit(template)  # the branch moves on; the release tag does not
    template_check.main(["--ref", "v1.0.0"])
    assert capsys.readouterr().out.startswith("template: up to date")
    template_check.main(["--ref", "main"])
    assert capsys.readouterr().out.startswith("template: behind")


@pytest.mark.parametrize("breakage, message", [
    ("unknown ref", "has no branch or tag 'v9.9.9'"),
    ("no template", "does not appear to be a git repository"),
    ("no commit", "no template commit recorded"),
])
def test_what_it_cannot_check_is_said_on_stderr(project, template, capsys, breakage, message):
    args = ["--ref", "v9.9.9"] if breakage == "unknown ref" else []
    if breakage == "no template":
        record(project / "missing", head(template))
    if breakage == "no commit":
        record(template, "")
    assert template_check.main(args) == 0
    output = capsys.readouterr()
    assert output.out == ""
    assert message in output.err and "could not check the template" in output.err


def test_without_cruft_state_it_says_how_to_get_one(project, capsys):
    template_check.STATE_FILE.unlink()
    assert template_check.main([]) == 0
    assert "no .cruft.json" in capsys.readouterr().err

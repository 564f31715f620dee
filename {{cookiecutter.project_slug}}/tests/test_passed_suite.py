"""make test runs the suite unless main passed it on the same files; records
travel through a real (local) DVC remote."""
import json
import subprocess
from pathlib import Path

import pytest
from git_commands import git

from {{ cookiecutter.module_name }} import passed_suite

OVERLAY = "deploy/overlays/staging/kustomization.yaml"
IMAGE = "images:\n  - name: registry.example/model\n    newTag: {tag}\n"


def commit(*files: tuple) -> None:
    for name, text in files:
        path = Path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        subprocess.run(["git", "add", name], check=True)
    git(".", "commit", "-q", "-m", "change")


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository with a passing test, a README and a staging overlay."""
    monkeypatch.chdir(tmp_path)
    subprocess.run(["git", "init", "-q"], check=True)
    commit(("tests/test_ok.py", "def test_ok():\n    assert True\n"),
           ("README.md", "# Project\n"), (OVERLAY, IMAGE.format(tag="abc123")),
           (".gitignore", "build/\n.pytest_cache/\n__pycache__/\n"))
    return tmp_path


def test_docs_and_the_deployed_tag_leave_the_key_alone_and_code_changes_it(repo):
    key = passed_suite.code_key()
    commit(("README.md", "# Project\n\nMore words.\n"))
    commit((OVERLAY, IMAGE.format(tag="def456") + "    digest: sha256:0f\n"))
    assert passed_suite.code_key() == key
    commit((OVERLAY, IMAGE.format(tag="def456").replace("model", "other-model")))
    assert passed_suite.code_key() != key


def test_uncommitted_changes_and_new_files_give_no_key(repo):
    (repo / "tests" / "conftest.py").write_text("import sys\n")
    assert passed_suite.code_key() is None
    (repo / "tests" / "conftest.py").unlink()
    (repo / "tests" / "test_ok.py").write_text("def test_ok():\n    assert False\n")
    assert passed_suite.code_key() is None


def test_a_pass_is_recorded_and_a_failure_or_a_selection_is_not(repo):
    assert passed_suite.main(["test", "-k", "ok"]) == 0
    assert not passed_suite.PASSED.exists()  # only a whole suite's pass counts
    assert passed_suite.main(["test"]) == 0
    (record,) = passed_suite.PASSED.glob("*.json")
    assert record.stem == passed_suite.code_key()
    assert json.loads(record.read_text())["commit"] == subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    commit(("tests/test_ok.py", "def test_ok():\n    assert False\n"))
    assert passed_suite.main(["test"]) == 1
    assert list(passed_suite.PASSED.glob("*.json")) == [record]


def test_main_s_pass_on_the_same_files_is_not_run_again(repo, capsys):
    commit(("tests/test_ok.py", "def test_ok():\n    assert False\n"))  # would fail if run
    key = passed_suite.code_key()
    passed_suite.PULLED.mkdir(parents=True)
    (passed_suite.PULLED / f"{key}.json").write_text('{"commit": "0123456789abcdef"}')
    assert passed_suite.main(["test"]) == 0
    assert "not run again: main's pipeline passed the suite on these files at 0123456789ab" \
        in capsys.readouterr().out
    assert (passed_suite.PASSED / f"{key}.json").exists()  # main's release keeps it
    commit(("tests/test_ok.py", "def test_ok():\n    assert 0\n"))
    assert passed_suite.main(["test"]) == 1


def test_a_damaged_record_runs_the_suite(repo):
    commit(("tests/test_ok.py", "def test_ok():\n    assert False\n"))
    passed_suite.PULLED.mkdir(parents=True)
    (passed_suite.PULLED / f"{passed_suite.code_key()}.json").write_text("{")
    assert passed_suite.main(["test"]) == 1


@pytest.fixture
def dvc_repo(repo, tmp_path_factory):
    from dvc.repo import Repo

    storage = tmp_path_factory.mktemp("storage")
    Repo.init().close()
    (repo / ".dvc" / "config").write_text(
        f"[core]\n    remote = storage\n['remote \"storage\"']\n    url = {storage}\n")
    commit(*[(name, (repo / name).read_text())
             for name in (".dvc/config", ".dvc/.gitignore", ".dvcignore")])
    return storage


def test_records_go_through_the_dvc_remote(dvc_repo, capsys):
    assert passed_suite.main(["test"]) == 0
    (passed_suite.PASSED / "left-from-another-run.json").write_text("{}")
    assert passed_suite.main(["upload"]) == 0
    key = passed_suite.code_key()
    assert sorted(path.name for path in (dvc_repo / "passed-suite").iterdir()) == [f"{key}.json"]
    passed_suite.main(["fetch"])
    assert (passed_suite.PULLED / f"{key}.json").exists()
    assert "main's pipeline passed the test suite on these files" in capsys.readouterr().out


def test_fetch_without_a_record_fetches_nothing(dvc_repo, capsys):
    assert passed_suite.main(["fetch"]) == 0
    assert not passed_suite.PULLED.exists()
    assert "test suite" not in capsys.readouterr().out


def test_unknown_action_is_a_usage_error(capsys):
    assert passed_suite.main(["push"]) == 2
    assert "usage" in capsys.readouterr().err

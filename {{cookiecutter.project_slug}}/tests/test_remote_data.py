"""make pull / make push-data: what happens when the DVC remote cannot be read,
and how key files reach DVC. DVC itself is replaced by a recorded answer."""
import subprocess
import sys
from types import SimpleNamespace

import pytest

from {{ cookiecutter.module_name }} import remote_data, repro


class FakeDvc:
    """Answers `dvc ...` calls with a fixed result and records them."""

    def __init__(self, returncode=0, stderr="", remotes="storage\ts3://bucket/path"):
        self.returncode, self.stderr, self.remotes = returncode, stderr, remotes
        self.calls = []

    def __call__(self, *args, env=None):
        self.calls.append((args, env))
        stdout = {"default": "storage", "list": self.remotes}.get(args[-1], "")
        return subprocess.CompletedProcess(args, self.returncode if args[0] in ("pull", "push")
                                           else 0, stdout, self.stderr)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    subprocess.run(["git", "init", "-q"], check=True)
    return tmp_path


@pytest.fixture(autouse=True)
def suite_records(monkeypatch):
    """The test-suite record moves each pull and push asked for (tested in test_passed_suite)."""
    actions = []

    def start_record_move(action, env):
        actions.append(action)
        return SimpleNamespace(wait=lambda: 0)  # a finished move, as Popen answers

    monkeypatch.setattr(remote_data, "start_record_move", start_record_move)
    return actions


def track(repo, name: str) -> None:
    """A file tracked with `dvc add` whose data is not in the workspace."""
    dvc_file = repo / f"{name}.dvc"
    dvc_file.parent.mkdir(parents=True, exist_ok=True)
    dvc_file.write_text("outs:\n- path: x\n")
    subprocess.run(["git", "add", f"{name}.dvc"], check=True)


def test_a_readable_remote_writes_no_marker_and_fetches_main_s_test_record(
        repo, monkeypatch, suite_records):
    monkeypatch.setattr(remote_data, "dvc", FakeDvc())
    assert remote_data.main(["pull"]) == 0
    assert not remote_data.UNAVAILABLE.exists()
    assert suite_records == ["fetch"]


def test_push_keeps_this_checkout_s_test_record(repo, monkeypatch, suite_records):
    monkeypatch.setattr(remote_data, "dvc", FakeDvc())
    assert remote_data.main(["push"]) == 0
    assert suite_records == ["upload"]


def test_a_pull_that_lost_the_state_database_s_lock_runs_again(repo, monkeypatch):
    track(repo, "data/raw/own.csv")
    answers = [(255, "ERROR: unexpected error - database is locked"), (0, "")]
    fake = FakeDvc()

    def pull_twice(*args, env=None):
        if args[0] == "pull":
            fake.returncode, fake.stderr = answers.pop(0)
        return fake(*args, env=env)

    monkeypatch.setattr(remote_data, "dvc", pull_twice)
    assert remote_data.main(["pull"]) == 0
    assert [args[0] for args, _ in fake.calls].count("pull") == 2
    assert not remote_data.UNAVAILABLE.exists()


def test_unreadable_remote_with_data_only_there_marks_it_unavailable(repo, monkeypatch, capsys):
    track(repo, "data/raw/own.csv")
    error = "ERROR: unexpected error - Unable to locate credentials"
    monkeypatch.setattr(remote_data, "dvc", FakeDvc(returncode=255, stderr=error))
    assert remote_data.main(["pull"]) == 0  # the report says why; the gate fails later
    message = remote_data.UNAVAILABLE.read_text()
    assert "Unable to locate credentials" in message and "data/raw/own.csv" in message
    assert "The DVC remote could not be read" in capsys.readouterr().err


def test_repro_then_skips_the_pipeline_and_says_why(repo, monkeypatch, capsys):
    track(repo, "data/raw/own.csv")
    monkeypatch.setattr(remote_data, "dvc", FakeDvc(returncode=255, stderr="ERROR: denied"))
    remote_data.main(["pull"])
    capsys.readouterr()
    assert repro.main(["--data-unavailable", str(remote_data.UNAVAILABLE)]) == 0
    assert capsys.readouterr().out.startswith("repro: skipped: The DVC remote could not be read")


def test_unreadable_remote_is_fine_when_every_input_is_here(repo, monkeypatch, capsys):
    track(repo, "data/raw/own.csv")
    (repo / "data" / "raw" / "own.csv").write_text("a,target\n1,0\n")
    monkeypatch.setattr(remote_data, "dvc", FakeDvc(returncode=1, stderr="ERROR: no network"))
    assert remote_data.main(["pull"]) == 0
    assert not remote_data.UNAVAILABLE.exists()
    assert "stages will be recomputed" in capsys.readouterr().out


def test_push_fails_when_dvc_fails(repo, monkeypatch, suite_records):
    monkeypatch.setattr(remote_data, "dvc", FakeDvc(returncode=1, stderr="ERROR: denied"))
    assert remote_data.main(["push"]) == 1
    assert suite_records == []


def test_a_key_given_as_content_becomes_a_private_file_for_gcs(repo, monkeypatch):
    fake = FakeDvc(remotes="storage\tgs://bucket/path")
    monkeypatch.setattr(remote_data, "dvc", fake)
    monkeypatch.setenv("DVC_REMOTE_KEY", '{"type": "service_account"}')
    env = remote_data.credentials_env()
    key = remote_data.KEY_FILE
    assert env["GOOGLE_APPLICATION_CREDENTIALS"] == str(key.resolve())
    assert key.read_text().strip() == '{"type": "service_account"}'
    assert key.stat().st_mode & 0o077 == 0


def test_an_ssh_key_file_is_set_for_this_checkout_only(repo, monkeypatch):
    fake = FakeDvc(remotes="storage\tssh://dvc@host/srv")
    monkeypatch.setattr(remote_data, "dvc", fake)
    monkeypatch.setenv("DVC_REMOTE_KEY_FILE", "/run/secrets/key")
    remote_data.credentials_env()
    assert ("remote", "modify", "--local", "storage", "keyfile", "/run/secrets/key") in [
        call for call, _ in fake.calls]


def test_unknown_action_is_a_usage_error(repo, capsys):
    assert remote_data.main(["fetch"]) == 2
    assert "usage" in capsys.readouterr().err


def test_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "{{ cookiecutter.module_name }}.remote_data",
                             "nonsense"], capture_output=True, text=True)
    assert result.returncode == 2

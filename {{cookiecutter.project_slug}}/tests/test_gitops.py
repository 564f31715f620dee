"""`make deploy`'s git side, against real local git repositories."""
import shutil
import subprocess
from pathlib import Path

import pytest

from {{ cookiecutter.module_name }} import gitops

PROJECT = Path(__file__).resolve().parents[1]
IMAGE = "{{ cookiecutter.registry }}/{{ cookiecutter.image_name }}"
DIGEST = "sha256:" + "ab" * 32


def git(cwd, *args):
    return subprocess.run(["git", "-c", "user.name=Test", "-c", "user.email=test@example.com",
                           *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def origin(tmp_path):
    """A bare origin whose main holds this project's deploy/ tree."""
    seed = tmp_path / "seed"
    shutil.copytree(PROJECT / "deploy", seed / "deploy")
    git(tmp_path, "init", "-q", "-b", "main", str(seed))
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "seed")
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(tmp_path / "origin.git"))
    return tmp_path / "origin.git"


def overlay_at_origin(origin, env):
    return git(origin, "show", f"main:deploy/overlays/{env}/kustomization.yaml")


def test_set_image_changes_only_the_tag_lines(tmp_path):
    overlay = tmp_path / "kustomization.yaml"
    original = (PROJECT / "deploy/overlays/staging/kustomization.yaml").read_text()
    overlay.write_text(original)
    assert gitops.set_image(overlay, IMAGE, "0123456", DIGEST)
    changed = overlay.read_text()
    assert "    newTag: '0123456'\n    digest: " + DIGEST + "\n" in changed
    assert changed.replace("    newTag: '0123456'\n    digest: " + DIGEST + "\n",
                           "    newTag: latest\n") == original
    assert not gitops.set_image(overlay, IMAGE, "0123456", DIGEST)
    assert not gitops.set_image(overlay, IMAGE, "0123456")
    assert gitops.set_image(overlay, IMAGE, "89abcde")
    assert "digest:" not in overlay.read_text()


def test_unknown_image_is_a_clear_error(tmp_path):
    overlay = tmp_path / "kustomization.yaml"
    overlay.write_text((PROJECT / "deploy/overlays/staging/kustomization.yaml").read_text())
    with pytest.raises(gitops.DeployError, match="no `images:` entry named other/image"):
        gitops.set_image(overlay, "other/image", "1")


def test_deploy_commits_with_skip_ci_and_is_idempotent(origin, tmp_path, capsys):
    assert gitops.deploy("staging", IMAGE, "abc1234", DIGEST, repo_url=str(origin))
    assert f"newTag: abc1234\n    digest: {DIGEST}" in overlay_at_origin(origin, "staging")
    assert git(origin, "log", "-1", "--format=%s", "main") == \
        f"deploy(staging): {IMAGE}:abc1234 [skip ci]\n"
    assert not gitops.deploy("staging", IMAGE, "abc1234", DIGEST, repo_url=str(origin))
    assert "nothing to commit" in capsys.readouterr().out
    assert git(origin, "rev-list", "--count", "main") == "2\n"


def test_a_push_race_is_rebased_and_retried(origin, tmp_path):
    checkout = tmp_path / "ci"
    git(tmp_path, "clone", "-q", str(origin), str(checkout))
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(origin), str(other))
    (other / "NOTES.md").write_text("pushed while CI was deploying\n")
    git(other, "add", "NOTES.md")
    git(other, "commit", "-q", "-m", "concurrent change")
    git(other, "push", "-q", "origin", "main")
    assert gitops.update_checkout(checkout, "staging", IMAGE, "abc1234", None, "main")
    log = git(origin, "log", "--format=%s", "main").splitlines()
    assert log == [f"deploy(staging): {IMAGE}:abc1234 [skip ci]", "concurrent change", "seed"]


def test_unknown_environment_names_the_known_ones(origin):
    with pytest.raises(gitops.DeployError, match="ENV must be one of: production, staging"):
        gitops.deploy("prod", IMAGE, "abc1234", repo_url=str(origin))

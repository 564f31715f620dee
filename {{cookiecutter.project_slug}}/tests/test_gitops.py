"""`make deploy`'s git side, against real local git repositories."""
import base64
import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from git_commands import git

from {{ cookiecutter.module_name }} import gitops

PROJECT = Path(__file__).resolve().parents[1]
IMAGE = "{{ cookiecutter.registry }}/{{ cookiecutter.image_name }}"
DIGEST = "sha256:" + "ab" * 32
# Stages a race between two deploy processes: both commit before either pushes,
# then DEPLOY_ROLE=second waits until the first one's push has landed.
RACE_HOOK = """#!/bin/sh
cat > /dev/null
touch "$RACE_DIR/arrived-$DEPLOY_ROLE"
for _ in $(seq 200); do
  [ -e "$RACE_DIR/arrived-first" ] && [ -e "$RACE_DIR/arrived-second" ] && break
  sleep 0.05
done
if [ "$DEPLOY_ROLE" = second ] && [ ! -e "$RACE_DIR/waited" ]; then
  touch "$RACE_DIR/waited"
  for _ in $(seq 200); do
    [ "$(git --git-dir="$ORIGIN" rev-parse main)" != "$BASE" ] && break
    sleep 0.05
  done
fi
"""


@pytest.fixture
def project(tmp_path):
    """A project repo holding this deploy/ tree, with two commits: older, newer."""
    repo = tmp_path / "project"
    shutil.copytree(PROJECT / "deploy", repo / "deploy")
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "older")
    git(repo, "commit", "-q", "--allow-empty", "-m", "newer")
    return repo


@pytest.fixture
def origin(project, tmp_path):
    """The GitOps repo: a bare clone Argo CD would follow."""
    git(tmp_path, "clone", "-q", "--bare", str(project), str(tmp_path / "origin.git"))
    return tmp_path / "origin.git"


def shas(project):
    older, newer = git(project, "rev-list", "--reverse", "main").split()
    return older, newer


def overlay_at_origin(origin, env="staging"):
    return git(origin, "show", f"main:deploy/overlays/{env}/kustomization.yaml")


def deploy(origin, project, tag, **kwargs):
    return gitops.deploy("staging", IMAGE, tag, repo_url=str(origin), workspace=project,
                         **kwargs)


def test_set_image_changes_only_the_tag_lines(tmp_path):
    overlay = tmp_path / "kustomization.yaml"
    # As shipped: after CI's first deploy, this project's own overlay names a
    # pushed image instead.
    original = re.sub(r"    newTag: .*\n(    digest: .*\n)?", "    newTag: latest\n",
                      (PROJECT / "deploy/overlays/staging/kustomization.yaml").read_text())
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


def test_deploy_commits_with_skip_ci_and_is_idempotent(origin, project, capsys):
    older, _ = shas(project)
    assert deploy(origin, project, older, digest=DIGEST)
    assert f"newTag: {older}\n    digest: {DIGEST}" in overlay_at_origin(origin)
    assert git(origin, "log", "-1", "--format=%s", "main") == \
        f"deploy(staging): {IMAGE}:{older} [skip ci]\n"
    assert not deploy(origin, project, older, digest=DIGEST)
    assert "nothing to commit" in capsys.readouterr().out
    assert git(origin, "rev-list", "--count", "main") == "3\n"


def test_a_push_race_is_fetched_and_reapplied_not_rebased(origin, project, tmp_path, capsys):
    """Another deploy of the same overlay lands between our fetch and our push: a
    rebase would conflict on the very lines both changed; re-applying does not."""
    older, newer = shas(project)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(origin), str(other))

    def concurrent_deploy():
        if not (tmp_path / "raced").exists():
            (tmp_path / "raced").touch()
            assert gitops.set_image(other / gitops.OVERLAYS / "staging" / "kustomization.yaml",
                                    IMAGE, older)
            git(other, "commit", "-q", "-am", "concurrent deploy")
            git(other, "push", "-q", "origin", "main")

    assert deploy(origin, project, newer, before_attempt=concurrent_deploy)
    assert "push to main was rejected: another push came first" in capsys.readouterr().out
    log = git(origin, "log", "--format=%s", "main").splitlines()
    assert log[:2] == [f"deploy(staging): {IMAGE}:{newer} [skip ci]", "concurrent deploy"]
    assert f"newTag: {newer}\n" in overlay_at_origin(origin)


def test_an_older_commit_is_refused_unless_rollback(origin, project):
    older, newer = shas(project)
    assert deploy(origin, project, newer)
    head = git(origin, "rev-parse", "main")
    with pytest.raises(gitops.DeployError, match=f"it is older than {newer}, which staging runs"):
        deploy(origin, project, older)
    assert git(origin, "rev-parse", "main") == head
    assert deploy(origin, project, older, rollback=True)
    assert f"newTag: {older}\n" in overlay_at_origin(origin)


def test_an_unknown_deployed_commit_is_refused_clearly(origin, project):
    unknown = "f" * 40
    assert deploy(origin, project, unknown, rollback=True)
    _, newer = shas(project)
    with pytest.raises(gitops.DeployError,
                       match=f"runs commit {unknown}, which this checkout does not have"):
        deploy(origin, project, newer)


@pytest.mark.parametrize("first", ["older", "newer"])
def test_two_concurrent_deploys_leave_the_newer_commit(origin, project, tmp_path, first):
    """Two real deploy processes race for the same overlay; the newer SHA wins
    whichever pushes first, and the older one is refused if it comes second."""
    commits = dict(zip(("older", "newer"), shas(project)))
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "pre-push").write_text(RACE_HOOK)
    (hooks / "pre-push").chmod(0o755)
    env = {**os.environ, "PYTHONPATH": str(PROJECT / "src"), "RACE_DIR": str(tmp_path),
           "ORIGIN": str(origin), "BASE": git(origin, "rev-parse", "main").strip(),
           "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.hooksPath",
           "GIT_CONFIG_VALUE_0": str(hooks)}
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-m", "{{ cookiecutter.module_name }}.gitops", "--env", "staging",
             "--image", IMAGE, "--tag", sha, "--repo-url", str(origin)],
            cwd=project, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env={**env, "DEPLOY_ROLE": "first" if name == first else "second"})
        for name, sha in commits.items()}
    results = {name: (process.wait(timeout=60), process.stdout.read())
               for name, process in processes.items()}
    assert results["newer"][0] == 0, results
    assert f"newTag: {commits['newer']}\n" in overlay_at_origin(origin)
    second = "newer" if first == "older" else "older"
    assert "push to main was rejected" in results[second][1], results
    if first == "newer":
        assert results["older"][0] == 1
        assert "is older than" in results["older"][1]


class Unauthorized(http.server.BaseHTTPRequestHandler):
    """A git server that accepts no credentials; it keeps the ones it was sent."""
    sent = []

    def do_GET(self):
        self.sent.append(self.headers.get("Authorization"))
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def git_server():
    """http://127.0.0.1:PORT of a git server that refuses every credential."""
    Unauthorized.sent = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Unauthorized)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def unauthorized_url(git_server):
    return f"http://deploy:s3cret-token@{git_server}/repo.git"


def closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://deploy:s3cret-token@127.0.0.1:{port}/repo.git"


@pytest.mark.parametrize("url, cause", [
    ("unauthorized_url", "authentication failed: check the token"),
    ("closed port", "network: the git server could not be reached"),
])
def test_failures_name_their_cause_and_never_print_the_token(request, project, capsys,
                                                             url, cause):
    repo_url = (request.getfixturevalue(url) if url == "unauthorized_url"
                else closed_port_url())
    code = gitops.main(["--env", "staging", "--image", IMAGE, "--tag", shas(project)[1],
                        "--repo-url", repo_url])
    output = capsys.readouterr()
    assert code == 1
    assert cause in output.err
    assert "s3cret-token" not in output.out + output.err
    assert "http://***@127.0.0.1" in output.err


def test_gitops_token_reaches_git_as_a_credential_and_is_never_shown(
        git_server, project, capsys, monkeypatch):
    monkeypatch.setenv("GITOPS_USER", "oauth2")
    monkeypatch.setenv("GITOPS_TOKEN", "s3cret-token")
    code = gitops.main(["--env", "staging", "--image", IMAGE, "--tag", shas(project)[1],
                        "--repo-url", f"http://{git_server}/repo.git"])
    output = capsys.readouterr()
    assert code == 1 and "authentication failed: check the token" in output.err
    assert "Basic " + base64.b64encode(b"oauth2:s3cret-token").decode() in Unauthorized.sent
    assert "s3cret-token" not in output.out + output.err


def test_a_protected_branch_is_named_as_such(origin, project):
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'You are not allowed to push code to protected branches "
                    "on this project.' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(gitops.DeployError, match="rejected by the server: a protected branch"):
        deploy(origin, project, shas(project)[1])


def test_unknown_environment_names_the_known_ones(origin, project):
    with pytest.raises(gitops.DeployError, match="ENV must be one of: production, staging"):
        gitops.deploy("prod", IMAGE, shas(project)[1], repo_url=str(origin), workspace=project)

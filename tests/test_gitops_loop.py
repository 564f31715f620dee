"""The release loop for real, on 127.0.0.1: `make push deploy` as main-branch CI
runs it, against a bare git origin and Debian's docker-registry.

The image is the project's serving image, built once per session with its own
`make image` (daemonless, podman) and tagged with each run's commit SHA.

A push race is staged with a pre-push hook (enabled for every git command of
the run through GIT_CONFIG_* variables, so it also fires in the temporary
checkout `make deploy` makes): on the first push it has another clone push a
commit to the same branch, so the deploy's own push is rejected: it must fetch
the branch again and re-apply its change on top."""
import subprocess
from pathlib import Path

import pytest
import yaml

from support.containers import LocalRegistry
from support.project import bake, git, project_env, run

pytestmark = pytest.mark.container

REPOSITORY = "ml/tumor-classifier"
RACE_HOOK = """#!/bin/sh
# Stage a push race once: another clone pushes to main before this push lands.
cat > /dev/null
[ -e "{marker}" ] && exit 0
touch "{marker}"
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_PREFIX
git clone -q "{origin}" "{other}" && cd "{other}" &&
echo "pushed during the deploy" > CONCURRENT.md && git add CONCURRENT.md &&
git -c user.name=Other -c user.email=other@example.com commit -q -m "concurrent change" &&
git push -q origin HEAD:main
"""


@pytest.fixture
def registry(tools):
    with LocalRegistry(tools) as running:
        yield running


def race_env(tools, tmp_path: Path, origin: Path, project: Path) -> dict:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    hook = hooks / "pre-push"
    hook.write_text(RACE_HOOK.format(marker=tmp_path / "raced", origin=origin,
                                     other=tmp_path / "other"))
    hook.chmod(0o755)
    return {**project_env(project), **tools.env, "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "core.hooksPath", "GIT_CONFIG_VALUE_0": str(hooks)}


def make_push_deploy(ci: Path, env: dict) -> str:
    result = subprocess.run(["make", "push", "deploy", "REGISTRY_TLS_VERIFY=false",
                             "CONTAINER_TOOL=podman"],
                            cwd=ci, env=env, capture_output=True, text=True)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def overlay_image(repo: Path, tmp_path: Path, name: str) -> dict:
    """origin's staging overlay entry, and what kubectl renders from a fresh clone."""
    clone = tmp_path / name
    run(["git", "clone", "-q", str(repo), str(clone)], tmp_path)
    overlay = clone / "deploy" / "overlays" / "staging"
    entry = yaml.safe_load((overlay / "kustomization.yaml").read_text())["images"][0]
    rendered = run(["kubectl", "kustomize", str(overlay)], tmp_path).stdout
    images = {line.split("image:", 1)[1].strip() for line in rendered.splitlines()
              if line.strip().startswith("image:")}
    return {"entry": entry, "rendered": images}


def bare_origin(source: Path, path: Path) -> Path:
    run(["git", "clone", "-q", "--bare", str(source), str(path)], source.parent)
    return path


@pytest.mark.parametrize("layout", ["same-repo", "config-repo"])
def test_push_then_deploy_like_main_ci(tools, registry, serving_image, tmp_path, layout):
    answers = {"registry": f"{registry.host}/ml"}
    config = tmp_path / "config.git"
    if layout == "config-repo":
        answers["gitops_repo_url"] = config.as_uri()
    project = bake(tmp_path / "baked", **answers)
    origin = bare_origin(project, tmp_path / "origin.git")
    if layout == "config-repo":
        # The config repo is seeded with the project's deploy/ tree.
        seed = tmp_path / "seed"
        (seed / "deploy").parent.mkdir()
        run(["cp", "-r", str(project / "deploy"), str(seed / "deploy")], tmp_path)
        run(["git", "init", "-q", "-b", "main"], seed)
        run(["git", "add", "-A"], seed)
        git(seed, "commit", "-q", "-m", "seed")
        bare_origin(seed, config)
    manifests = config if layout == "config-repo" else origin

    ci = tmp_path / "ci"
    run(["git", "clone", "-q", str(origin), str(ci)], tmp_path)
    sha = run(["git", "rev-parse", "HEAD"], ci).stdout.strip()
    image = f"{registry.host}/{REPOSITORY}"
    tools.run("podman", "tag", serving_image, f"{image}:{sha}")
    try:
        check_loop(ci, race_env(tools, tmp_path, manifests, project), registry, image, sha,
                   manifests, origin, layout, tmp_path)
    finally:
        tools.remove_image(f"{image}:{sha}")


def check_loop(ci, env, registry, image, sha, manifests, origin, layout, tmp_path):
    output = make_push_deploy(ci, env)

    assert sha in registry.list_tags(REPOSITORY)
    digest = registry.manifest_digest(REPOSITORY, sha)
    assert (ci / "build" / "pushed-image").read_text().strip() == f"{image}:{sha}@{digest}"
    assert "push to main was rejected" in output  # the staged race happened...
    log = run(["git", "log", "--format=%s", "main"], manifests).stdout.splitlines()
    assert log[:2] == [f"deploy(staging): {image}:{sha} [skip ci]", "concurrent change"]
    state = overlay_image(manifests, tmp_path, "check-1")  # ...and was survived
    assert state["entry"] == {"name": image, "newTag": sha, "digest": digest}
    assert state["rendered"] == {f"{image}:{sha}@{digest}"}
    if layout == "config-repo":  # the app repo itself is left alone
        assert run(["git", "rev-list", "--count", "main"], origin).stdout.strip() == "1"
    assert run(["git", "status", "--porcelain"], ci).stdout == ""

    head = run(["git", "rev-parse", "main"], manifests).stdout
    again = make_push_deploy(ci, env)
    assert "already runs" in again and "nothing to commit" in again
    assert run(["git", "rev-parse", "main"], manifests).stdout == head

"""Model registry and promotion for real, on 127.0.0.1: main-branch CI's
`make push deploy register` for three releases, then `make promote` and what
CI runs for the promotion tag, `make deploy-promotion`, against a bare git
origin and Debian's docker-registry.

Every release pushes the project's real serving image (built once per session
by its own `make image`), committed again with the release's commit as a label,
so each version has a digest of its own, as a rebuild per commit would.
v0.0.1 is the baked project, v0.0.2 a README change (the same metrics), v0.0.3
a much weaker model (one tree of depth 1), its metrics from a real `make repro`.
Each test starts from the three releases with nothing promoted."""
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from support import ci_pipelines as ci
from support.ci_pipelines import PROVIDERS
from support.ci_run import fast_venv, run_promotion
from support.containers import LocalRegistry
from support.project import bake, git, run

pytestmark = pytest.mark.container

REPOSITORY = "ml/tumor-classifier"
OVERLAY = "deploy/overlays/{}/kustomization.yaml"
OVERRIDE = "accepted on purpose by the test"
# Stages a tag race between two `make promote`: both have created their tag
# before either pushes; ROLE=second then waits until the first one's has landed.
RACE_HOOK = """#!/bin/sh
cat > /dev/null
touch "$RACE_DIR/arrived-$ROLE"
for _ in $(seq 300); do
  [ -e "$RACE_DIR/arrived-first" ] && [ -e "$RACE_DIR/arrived-second" ] && break
  sleep 0.05
done
if [ "$ROLE" = second ] && [ ! -e "$RACE_DIR/waited" ]; then
  touch "$RACE_DIR/waited"
  for _ in $(seq 300); do
    git --git-dir="$ORIGIN" rev-parse -q --verify "refs/tags/$FIRST_TAG" > /dev/null && break
    sleep 0.05
  done
fi
"""


@dataclass
class Loop:
    tools: object
    registry: LocalRegistry
    root: Path
    project: Path  # the developer's clone, where the pipeline runs
    origin: Path
    serving_image: str  # the session's `make image` result, re-labelled per release
    versions: dict = field(default_factory=dict)  # version -> commit
    staging: dict = field(default_factory=dict)   # version -> staging's image entry then
    released: str = ""                            # origin's main after the releases
    clones: int = 0

    @property
    def image(self) -> str:
        return f"{self.registry.host}/{REPOSITORY}"

    def clone(self, name: str, rev: str = "") -> Path:
        self.clones += 1
        path = self.root / f"{name}-{self.clones}"
        git(self.root, "clone", "-q", str(self.origin), str(path))
        if rev:
            git(path, "checkout", "-q", rev)
        return path

    def make(self, cwd: Path, *args: str, check: bool = True, env=None):
        result = subprocess.run(
            ["make", "-s", "PYTHON=python", *args], cwd=cwd, capture_output=True, text=True,
            timeout=600, env={**self.tools.env, **(env or {}), "PYTHONPATH": str(cwd / "src")})
        assert not check or result.returncode == 0, \
            f"make {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    def overlay(self, env: str, rev: str = "main") -> dict:
        return yaml.safe_load(git(self.origin, "show", f"{rev}:{OVERLAY.format(env)}"))["images"][0]

    def release(self) -> str:
        """Main-branch CI for origin's main: the image, then push, deploy, register."""
        ci = self.clone("release")
        sha = git(ci, "rev-parse", "HEAD").strip()
        container = f"release-{sha[:12]}"
        self.tools.run("buildah", "from", "--pull=never", "--name", container,
                       self.serving_image)
        try:
            self.tools.run("buildah", "config", "--label",
                           f"org.opencontainers.image.revision={sha}", container)
            self.tools.run("buildah", "commit", "--quiet", "--format", "docker", container,
                           f"{self.image}:{sha}")
        finally:
            self.tools.run("buildah", "rm", container, check=False)
        self.make(ci, "push", "deploy", "register", "REGISTRY_TLS_VERIFY=false",
                  "CONTAINER_TOOL=podman")
        version = git(self.origin, "tag", "--points-at", sha, "--list", "model@*").strip()
        self.versions[version.split("@")[1]] = sha
        self.staging[version.split("@")[1]] = self.overlay("staging")
        return sha

    def push_change(self, message: str) -> None:
        git(self.project, "pull", "-q", "--ff-only", "origin", "main")
        git(self.project, "commit", "-q", "-am", message)
        git(self.project, "push", "-q", "origin", "HEAD:main")

    def reset(self) -> None:
        """Back to the three releases: no stage tag, no production deploy."""
        stage_tags = git(self.origin, "tag", "--list", "model#*").split()
        if stage_tags:
            git(self.origin, "tag", "--delete", *stage_tags)
        git(self.origin, "update-ref", "refs/heads/main", self.released)

    def promote(self, version: str, *args: str, check: bool = True, env=None):
        return self.make(self.clone("dev"), "promote", f"VERSION={version}", *args,
                         check=check, env=env)

    def deploy_promotion(self, tag: str, check: bool = True):
        """What CI runs in the tag's pipeline: a checkout of the tagged commit."""
        return self.make(self.clone("tag-pipeline", tag), "deploy-promotion",
                         f"PROMOTION_TAG={tag}", check=check)

    def stage_tags(self) -> list:
        """Origin's production tags, oldest assignment first."""
        tags = git(self.origin, "tag", "--list", "model#production#*").split()
        return sorted(tags, key=lambda tag: int(tag.rsplit("#", 1)[1]))

    def metric(self, version: str) -> float:
        return yaml.safe_load(git(self.origin, "show", f"{self.versions[version]}:metrics.json"))[
            "roc_auc"]


def pushed_tag(result) -> str:
    return re.search(r"^pushed (\S+):", result.stdout, re.MULTILINE).group(1)


@pytest.fixture(scope="module")
def released(tools, serving_image, tmp_path_factory):
    root = tmp_path_factory.mktemp("promotion")
    with LocalRegistry(tools) as registry:
        project = bake(root / "baked", registry=f"{registry.host}/ml")
        loop = Loop(tools, registry, root, project, root / "origin.git", serving_image)
        loop.make(project, "repro")
        git(project, "add", "-A")
        git(project, "commit", "-q", "-m", "pipeline outputs")
        git(root, "clone", "-q", "--bare", str(project), str(loop.origin))
        git(project, "remote", "add", "origin", str(loop.origin))
        loop.release()
        with open(project / "README.md", "a") as readme:
            readme.write("\nA change that leaves the model as it was.\n")
        loop.push_change("docs: a second release")
        loop.release()
        params = project / "params.yaml"
        params.write_text(params.read_text().replace("n_estimators: 100", "n_estimators: 1")
                          .replace("max_depth: 8", "max_depth: 1"))
        git(project, "pull", "-q", "--ff-only", "origin", "main")
        loop.make(project, "repro")
        loop.push_change("train: one shallow tree (a worse model)")
        loop.release()
        loop.released = git(loop.origin, "rev-parse", "main").strip()
        try:
            yield loop
        finally:
            for sha in loop.versions.values():
                tools.remove_image(f"{loop.image}:{sha}")


@pytest.fixture
def loop(released):
    released.reset()
    return released


def test_promotions_deploy_the_digest_staging_ran_and_make_models_shows_them(loop):
    assert sorted(loop.versions) == ["v0.0.1", "v0.0.2", "v0.0.3"]
    for version in ("v0.0.1", "v0.0.2"):
        loop.deploy_promotion(pushed_tag(loop.promote(version)))
        assert loop.overlay("production") == loop.staging[version]
    sha = loop.versions["v0.0.2"]
    digest = loop.registry.manifest_digest(REPOSITORY, sha)
    assert loop.staging["v0.0.2"] == {"name": loop.image, "newTag": sha, "digest": digest}
    assert len({entry["digest"] for entry in loop.staging.values()}) == 3
    log = git(loop.origin, "log", "-1", "--format=%B", "main")
    assert log.startswith(f"deploy(production): {loop.image}:{sha} [skip ci]\n")
    assert "promotion: model#production#2 (model v0.0.2)" in log

    models = loop.make(loop.clone("dev"), "models").stdout
    assert re.search(rf"^  v0\.0\.2 +{sha[:7]} +{loop.metric('v0.0.2')} +{digest[:19]} "
                     r"+production$", models, re.MULTILINE), models
    assert re.search(r"^  v0\.0\.3 .* -$", models, re.MULTILINE), models
    assert f"  production: v0.0.2 ({loop.image}:{sha[:12]}@{digest})" in models
    assert f"  staging: v0.0.3 ({loop.image}:{loop.versions['v0.0.3'][:12]}@" in models


def test_a_worse_version_is_refused_unless_the_override_is_recorded(loop):
    loop.deploy_promotion(pushed_tag(loop.promote("v0.0.2")))
    main, tags = git(loop.origin, "rev-parse", "main"), loop.stage_tags()
    worse, better = loop.metric("v0.0.3"), loop.metric("v0.0.2")
    assert better - worse > 0.01

    refused = loop.promote("v0.0.3", check=False)
    assert refused.returncode != 0
    assert (f"roc_auc {worse:g} (v0.0.3) vs {better:g} (v0.0.2, the stage's current version)"
            in refused.stderr and "at most 0.01 allowed (promote.max_drop)" in refused.stderr)
    assert (git(loop.origin, "rev-parse", "main"), loop.stage_tags()) == (main, tags)

    # A stage tag made around `make promote` (GTO's own CLI): its pipeline refuses too.
    dev = loop.clone("dev")
    run(["gto", "assign", "model", "--version", "v0.0.3", "--stage", "production", "--push"],
        dev, env={**os.environ, "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
                  "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com"})
    sneaked = loop.stage_tags()[-1]
    result = loop.deploy_promotion(sneaked, check=False)
    assert result.returncode != 0 and "refused: roc_auc" in result.stderr, result.stderr
    assert git(loop.origin, "rev-parse", "main") == main
    git(loop.origin, "tag", "--delete", sneaked)

    tag = pushed_tag(loop.promote("v0.0.3", f"OVERRIDE={OVERRIDE}"))
    record = git(loop.origin, "tag", "--list", "--format=%(contents)", tag)
    assert f"override: {OVERRIDE}" in record and "FAILED" in record
    loop.deploy_promotion(tag)
    assert loop.overlay("production") == loop.staging["v0.0.3"]


def test_rollback_is_explicit_recorded_and_passes_the_never_backwards_guard(loop):
    for version in ("v0.0.1", "v0.0.2"):
        loop.deploy_promotion(pushed_tag(loop.promote(version)))
    main = git(loop.origin, "rev-parse", "main")

    refused = loop.promote("v0.0.1", check=False)
    assert refused.returncode != 0 and "add ROLLBACK=1" in refused.stderr
    # A plain deploy of the older commit is refused by the same guard.
    older = loop.make(loop.clone("ci"), "deploy", "ENV=production",
                      f"TAG={loop.versions['v0.0.1']}", check=False)
    assert older.returncode != 0 and "is older than" in older.stderr, older.stderr
    assert git(loop.origin, "rev-parse", "main") == main

    tag = pushed_tag(loop.promote("v0.0.1", "ROLLBACK=1"))
    record = git(loop.origin, "tag", "--list", "--format=%(contents)", tag)
    assert "from: v0.0.2" in record and "rollback: yes" in record
    rolled_back = loop.deploy_promotion(tag)
    assert "ROLLBACK: production goes from" in rolled_back.stdout
    assert loop.overlay("production") == loop.staging["v0.0.1"]


def test_racing_promotions_leave_production_at_the_one_assigned_last(loop, tmp_path):
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "pre-push").write_text(RACE_HOOK)
    (hooks / "pre-push").chmod(0o755)
    race = {"RACE_DIR": str(tmp_path), "ORIGIN": str(loop.origin),
            "FIRST_TAG": "model#production#1", "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "core.hooksPath", "GIT_CONFIG_VALUE_0": str(hooks)}
    processes = [
        subprocess.Popen(["make", "-s", "PYTHON=python", "promote", f"VERSION={version}"],
                         cwd=clone, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env={**loop.tools.env, **race, "ROLE": role,
                              "PYTHONPATH": str(clone / "src")})
        for version, role, clone in (("v0.0.1", "first", loop.clone("dev")),
                                     ("v0.0.2", "second", loop.clone("dev")))]
    outputs = [(process.wait(timeout=120), process.stdout.read()) for process in processes]
    assert [code for code, _ in outputs] == [0, 0], outputs
    assert "was pushed by someone else first" in outputs[1][1]
    first, last = loop.stage_tags()
    assert (first, last) == ("model#production#1", "model#production#2")

    # The pipelines in the worst order: the last assignment's first.
    loop.deploy_promotion(last)
    late = loop.deploy_promotion(first)
    assert f"superseded by {last}" in late.stdout
    assert loop.overlay("production") == loop.staging["v0.0.2"]
    assert git(loop.origin, "log", "--format=%s", f"{loop.released}..main").count(
        "deploy(production)") == 1


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    return fast_venv(tmp_path_factory.mktemp("promotion-venv") / "venv")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_ci_deploys_the_stage_tag_it_is_given(loop, provider, venv, tmp_path):
    """The stage tag's pipeline as each CI system runs it (act, gitlab-ci-local,
    the Jenkinsfile's steps): it reads the tag from the CI's own variable and
    calls the same targets, and production gets the version's staging digest."""
    tag = pushed_tag(loop.promote("v0.0.2"))
    result = run_promotion(provider, loop.origin, tag, tmp_path / provider, venv,
                           loop.tools.env)
    assert result.returncode == 0, result.log[-6000:]
    assert [target for target, _ in result.targets] == \
        ci.TARGETS[provider](loop.project, "promotion")
    assert f"promotion: {tag} (model v0.0.2)" in git(loop.origin, "log", "-1", "--format=%B")
    assert loop.overlay("production") == loop.staging["v0.0.2"]

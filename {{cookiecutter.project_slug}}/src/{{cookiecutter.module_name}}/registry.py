"""The model registry, kept in git tags by GTO: which versions exist, what each
one is, and which one each stage should run.

- `make register` (CI on main, after push and deploy) tags HEAD as the next
  version, `model@vX.Y.Z`. The tag's message is the version's record, readable
  with `git show model@vX.Y.Z`: the commit, the primary metric, and the exact
  image (tag and digest) that staging runs for it.
- `make models` prints the versions, their stages, and what each overlay runs.

Stages are assigned by `make promote` (promotion.py). GTO numbers every stage
tag (`model#production#N`); the highest number is the stage's current version.
(`gto show` orders by version number instead, which hides a rollback.)
"""
import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import gto.api
import yaml
from gto.constants import Action
from gto.tag import parse_name

from {{ cookiecutter.module_name }} import gitops, paths
from {{ cookiecutter.module_name }}.gitops import DeployError, git
from {{ cookiecutter.module_name }}.params import load_params

DVC_YAML = Path("dvc.yaml")
MAX_TAG_ATTEMPTS = 4


def artifact_name(dvc_yaml: Path = DVC_YAML) -> str:
    """The one artifact of type `model` that dvc.yaml declares."""
    artifacts = (yaml.safe_load(dvc_yaml.read_text()) or {}).get("artifacts") or {}
    models = [name for name, spec in artifacts.items() if (spec or {}).get("type") == "model"]
    if len(models) != 1:
        raise DeployError(f"{dvc_yaml}: `artifacts:` must declare exactly one artifact of "
                          f"type model (found: {', '.join(models) or 'none'})")
    return models[0]


def parse_record(message: str) -> dict:
    """`key: value` lines of a tag message."""
    pairs = (line.split(": ", 1) for line in message.splitlines() if ": " in line)
    return {key.strip(): value.strip() for key, value in pairs}


@dataclass(frozen=True)
class Assignment:
    tag: str
    stage: str
    number: int
    version: str
    commit: str
    record: dict


@dataclass
class Registry:
    artifact: str
    versions: dict = field(default_factory=dict)     # version -> (commit, record)
    assignments: list = field(default_factory=list)  # Assignment, oldest first

    @classmethod
    def read(cls, repo: Path, artifact: str) -> "Registry":
        """Every annotated GTO tag of ``artifact`` in ``repo`` (lightweight tags do not count)."""
        refs = git(repo, "for-each-ref", f"refs/tags/{artifact}@*", f"refs/tags/{artifact}#*",
                   "--format=%(refname:strip=2)%00%(*objectname)%00%(contents)%1e").stdout
        registry, stage_tags = cls(artifact), []
        for entry in filter(str.strip, refs.split("\x1e")):
            name, commit, message = entry.lstrip("\n").split("\0", 2)
            parsed = parse_name(name, raise_on_fail=False)
            if not commit or not parsed or parsed.get("name") != artifact:
                continue
            if parsed["action"] == Action.REGISTER:
                registry.versions[parsed["version"]] = (commit, parse_record(message))
            elif parsed["action"] == Action.ASSIGN and "counter" in parsed:
                stage_tags.append((parsed["counter"], parsed["stage"], name, commit, message))
        by_commit = {commit: version for version, (commit, _) in registry.versions.items()}
        registry.assignments = [
            Assignment(name, stage, number, by_commit.get(commit, "?"), commit,
                       parse_record(message))
            for number, stage, name, commit, message in sorted(stage_tags)]
        return registry

    def version_at(self, commit: str) -> Optional[str]:
        return next((version for version, (sha, _) in self.versions.items() if sha == commit),
                    None)

    def require(self, version: str):
        """(commit, record) of ``version``; a clear error naming the known ones."""
        if version not in self.versions:
            known = ", ".join(sorted(self.versions, key=version_key)) or "none yet"
            raise DeployError(f"{self.artifact} has no version {version!r} (registered: {known}; "
                              "see make models)")
        return self.versions[version]

    def current(self, stage: str, before: Optional[int] = None) -> Optional[Assignment]:
        """The stage's latest assignment (or the latest numbered below ``before``)."""
        found = [a for a in self.assignments
                 if a.stage == stage and (before is None or a.number < before)]
        return found[-1] if found else None

    def stages(self) -> list:
        return sorted({assignment.stage for assignment in self.assignments})


def version_key(version: str) -> tuple:
    """v1.10.0 after v1.9.0."""
    return tuple(int(part) if part.isdigit() else 0
                 for part in version.lstrip("v").split("-")[0].split("."))


def fetch_registry(repo: Path, artifact: str, branch: str = "main") -> None:
    """Make ``repo``'s registry tags what origin has (also dropping any that origin
    deleted), and fetch origin's main, where the gate's settings live."""
    tags = [f"+refs/tags/{artifact}{kind}*:refs/tags/{artifact}{kind}*" for kind in "@#"]
    git(repo, "fetch", "--quiet", "--force", "--prune", "origin", *tags,
        f"+refs/heads/{branch}:refs/remotes/origin/{branch}")


def tagger(repo: Path) -> tuple:
    """Who signs the tag: git's identity, or the deploy fallback on a bare CI runner."""
    configured = (git(repo, "config", key, check=False).stdout.strip()
                  for key in ("user.name", "user.email"))
    pairs = zip(configured, gitops.FALLBACK_IDENTITY)
    return tuple(value or fallback for value, fallback in pairs)


def push_tag(repo: Path, artifact: str, create) -> Optional[str]:
    """Create a tag with ``create()`` (after fetching the registry) and push it.

    When another push took that tag name first, drop ours, fetch again and let
    ``create`` decide anew (a bounded number of times). ``create`` returns the
    tag name, or None when there is nothing to tag.
    """
    for attempt in range(1, MAX_TAG_ATTEMPTS + 1):
        fetch_registry(repo, artifact)
        tag = create()
        if tag is None or gitops.push(repo, f"refs/tags/{tag}"):
            return tag
        git(repo, "tag", "--delete", tag)
        print(f"tag {tag} was pushed by someone else first: fetching the registry again "
              f"(attempt {attempt} of {MAX_TAG_ATTEMPTS})")
    raise DeployError(f"gave up after {MAX_TAG_ATTEMPTS} attempts: other tags kept taking "
                      "the same name; run it again")


def committed_metrics(repo: Path, commit: str) -> Optional[dict]:
    """metrics.json as committed (dvc.yaml keeps it in git, `cache: false`), or None."""
    shown = git(repo, "show", f"{commit}:{paths.METRICS.as_posix()}", check=False)
    return json.loads(shown.stdout) if shown.returncode == 0 else None


def metric_value(repo: Path, version: str, commit: str, record: dict, metric: str) -> float:
    """``metric`` of a version: from git at its commit, else from its record."""
    value = (committed_metrics(repo, commit) or record).get(metric)
    if value is None:
        raise DeployError(f"{version}: no {metric} in {paths.METRICS} at {commit[:12]} "
                          "nor in its tag")
    return float(value)


def release_metrics(repo: Path, commit: str) -> dict:
    """The metrics of the commit being released: committed, or else the ones this
    CI run's `make repro` just wrote (a project that does not commit them)."""
    metrics = committed_metrics(repo, commit)
    if metrics is None and (repo / paths.METRICS).is_file():
        metrics = json.loads((repo / paths.METRICS).read_text())
    if metrics is None:
        raise DeployError(f"no {paths.METRICS} at {commit[:12]} nor in the work tree: "
                          "run make repro before make register")
    return metrics


def pushed_image(pushed_file: Path, commit: str) -> str:
    """IMAGE:TAG@DIGEST that `make push` recorded, checked to be this commit's."""
    recorded = pushed_file.read_text().strip() if pushed_file.is_file() else ""
    reference, _, digest = recorded.rpartition("@")
    if not digest.startswith("sha256:") or reference.rpartition(":")[2] != commit:
        raise DeployError(f"{pushed_file} does not hold this commit's pushed image "
                          f"({recorded or 'missing'}): run make push first")
    return recorded


def register(repo: Path, pushed_file: Path) -> Optional[str]:
    """Tag HEAD as the next version with its record; nothing if HEAD has one already."""
    artifact = artifact_name(repo / DVC_YAML)
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    image = pushed_image(pushed_file, head)
    metric = load_params(repo / "params.yaml")["evaluate"]["primary_metric"]
    value = release_metrics(repo, head)[metric]

    def create():
        registry = Registry.read(repo, artifact)
        existing = registry.version_at(head)
        if existing:
            print(f"{artifact} {existing} is already registered at {head[:12]}: nothing to do")
            return None
        name, email = tagger(repo)
        message = (f"{artifact}: a new version (make register)\n\n"
                   f"commit: {head}\n{metric}: {value}\nimage: {image}\n")
        return gto.api.register(str(repo), artifact, head, message=message, author=name,
                                author_email=email).tag

    tag = push_tag(repo, artifact, create)
    if tag:
        print(f"registered {tag}: commit {head[:12]}, {metric} {value}, {image}")
    return tag


def overlays_in_git(workspace: Path, image: str, repo_url: str, branch: str) -> dict:
    """env -> (tag, digest) that each overlay on ``branch`` of the GitOps repo runs."""
    running = {}
    with gitops.fresh_checkout(workspace, repo_url, branch) as checkout:
        for overlay in sorted((checkout / gitops.OVERLAYS).glob("*/kustomization.yaml")):
            data = yaml.safe_load(overlay.read_text())
            entry = next((item for item in data.get("images") or []
                          if item.get("name") == image), {})
            running[overlay.parent.name] = (str(entry.get("newTag", "?")), entry.get("digest"))
    return running


def show(repo: Path, image: str, repo_url: str, branch: str) -> str:
    """The registry as text: versions with their record and stage, then each overlay."""
    artifact = artifact_name(repo / DVC_YAML)
    registry = Registry.read(repo, artifact)
    metric = load_params(repo / "params.yaml")["evaluate"]["primary_metric"]
    holders = {}
    for stage in registry.stages():
        holders.setdefault(registry.current(stage).version, []).append(stage)
    rows = [("version", "commit", metric, "image digest", "stage")]
    for version in sorted(registry.versions, key=version_key, reverse=True):
        commit, record = registry.versions[version]
        digest = record.get("image", "").rpartition("@")[2]
        rows.append((version, commit[:7], record.get(metric, "?"), digest[:19] or "?",
                     ", ".join(holders.get(version, [])) or "-"))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = [f"{artifact}: {len(registry.versions)} version(s), git tags made by GTO"]
    lines += ["  " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths))
              .rstrip() for row in rows]
    lines.append(f"what {gitops.OVERLAYS} on {branch} runs:")
    for env, (tag, digest) in overlays_in_git(repo, image, repo_url, branch).items():
        version = registry.version_at(tag) or "no registered version"
        assigned = registry.current(env)
        note = (f"; {assigned.tag} assigns {assigned.version}"
                if assigned and assigned.version != version else "")
        lines.append(f"  {env}: {version} ({image}:{tag[:12]}"
                     f"{'@' + digest if digest else ''}){note}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    registering = commands.add_parser("register", help="tag HEAD as the next model version")
    registering.add_argument("--pushed-file", type=Path, default=Path("build/pushed-image"))
    showing = commands.add_parser("show", help="versions, stages, and what each overlay runs")
    gitops.add_target_arguments(showing)
    args = parser.parse_args(argv)
    repo = Path(".")
    if args.command == "register":
        return gitops.exit_code(lambda: register(repo, args.pushed_file))

    def print_registry():
        fetch_registry(repo, artifact_name(repo / DVC_YAML))
        print(show(repo, args.image, args.repo_url, args.branch))
    return gitops.exit_code(print_registry)


if __name__ == "__main__":
    sys.exit(main())

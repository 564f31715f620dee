"""Promotion is a git tag, and CI deploys it.

`make promote VERSION=v0.0.2 STAGE=production` checks the gate and the
direction, then pushes a GTO stage tag (`model#production#N`) whose message
records the decision. CI's pipeline for that tag runs
`make deploy-promotion PROMOTION_TAG=model#production#N`, which sets the
stage's overlay to the exact image the version's record names (the tag and
digest staging ran: never a rebuild) and commits it as `make deploy` does,
with the same guards. It also checks the gate again (a stage tag can be made
without `make promote`), and deploys nothing for a tag that a later
assignment superseded: that tag's own pipeline deploys it.

Gate: the version's primary metric (metrics.json at its commit, or else the
value its tag recorded) may be worse
than the stage's current version's by at most promote.max_drop (if null,
report.max_drop; both null: no gate), read from params.yaml on main so a
candidate cannot loosen its own gate. OVERRIDE="why" passes it anyway and the
tag records why. Going back to an earlier version needs ROLLBACK=1, recorded
too; a rollback skips the gate (you go back to a version you chose before).
"""
import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import gto.api
import yaml
from gto.constants import Action
from gto.tag import parse_name

from {{ cookiecutter.module_name }} import gitops, registry
from {{ cookiecutter.module_name }}.gitops import DeployError, git
from {{ cookiecutter.module_name }}.report.compare import worsening

POLICY_REV = "origin/main"  # where the gate's settings are read


class Superseded(Exception):
    """A later assignment to the same stage exists: deploy nothing for this one."""


@dataclass(frozen=True)
class Gate:
    metric: str
    max_drop: Optional[float]  # None: no gate
    setting: str               # which params.yaml key set max_drop

    @classmethod
    def on_main(cls, repo: Path) -> "Gate":
        params = yaml.safe_load(git(repo, "show", f"{POLICY_REV}:params.yaml").stdout)
        for setting in ("promote", "report"):
            max_drop = (params.get(setting) or {}).get("max_drop")
            if max_drop is not None:
                return cls(params["evaluate"]["primary_metric"], float(max_drop),
                           f"{setting}.max_drop")
        return cls(params["evaluate"]["primary_metric"], None, "promote.max_drop")

    def verdict(self, repo: Path, reg: registry.Registry, candidate: str,
                current: str) -> tuple:
        """(passed, one line naming both versions' values and the threshold)."""
        if self.max_drop is None:
            return True, f"gate: off ({self.setting} and report.max_drop are null)"
        new, base = (registry.metric_value(repo, version, *reg.require(version), self.metric)
                     for version in (candidate, current))
        worse_by = worsening(self.metric, base, new)
        passed = worse_by <= self.max_drop
        return passed, (f"gate: {self.metric} {new:g} ({candidate}) vs {base:g} "
                        f"({current}, the stage's current version): worse by {worse_by:g}, "
                        f"at most {self.max_drop:g} allowed ({self.setting}): "
                        f"{'passed' if passed else 'FAILED'}")


def decide(repo: Path, reg: registry.Registry, version: str, stage: str, current,
           rollback: bool, override: str) -> list:
    """The record lines of a promotion, or DeployError saying why it is refused."""
    commit, _ = reg.require(version)
    lines = [f"commit: {commit}"]
    if current is None:
        return lines + ["gate: no version in this stage yet, nothing to compare"]
    lines.append(f"from: {current.version}")
    if gitops.is_ancestor(repo, commit, current.commit):
        if not rollback:
            raise DeployError(f"{version} is older than {current.version}, which {stage} has "
                              "now: going back must be explicit, add ROLLBACK=1")
        return lines + ["rollback: yes", "gate: skipped for a rollback"]
    passed, gate_line = Gate.on_main(repo).verdict(repo, reg, version, current.version)
    if not passed and not override:
        raise DeployError(f"refused: {gate_line.removeprefix('gate: ')}. "
                          "OVERRIDE=\"why\" promotes it anyway and records why")
    return lines + [gate_line] + ([f"override: {override}"] if not passed else [])


def assign(repo: Path, version: str, stage: str, rollback: bool = False,
           override: str = "") -> Optional[str]:
    """Push a stage tag assigning ``version`` to ``stage``; None if it is there already."""
    artifact = registry.artifact_name(repo / registry.DVC_YAML)
    known = sorted(path.name for path in (repo / gitops.OVERLAYS).glob("*") if path.is_dir())
    if stage not in known:
        raise DeployError(f"no overlay for stage {stage!r}: STAGE must be one of "
                          f"{', '.join(known)}")

    def create():
        reg = registry.Registry.read(repo, artifact)
        current = reg.current(stage)
        if current and current.version == version:
            print(f"{stage} already has {artifact} {version} ({current.tag}): nothing to do")
            return None
        lines = decide(repo, reg, version, stage, current, rollback, override)
        message = f"{artifact}: {version} to {stage} (make promote)\n\n" + "\n".join(lines) + "\n"
        name, email = registry.tagger(repo)
        # force: GTO refuses a stage a version had before; a rollback needs exactly that.
        return gto.api.assign(str(repo), artifact, stage, version=version, message=message,
                              force=True, author=name, author_email=email).tag

    tag = registry.push_tag(repo, artifact, create)
    if tag:
        print(f"pushed {tag}: {stage} := {artifact} {version}; CI's pipeline for this tag "
              "deploys it (make deploy-promotion)")
    return tag


def deploy_promotion(repo: Path, tag: str, image: str, repo_url: str = "",
                     branch: str = "main") -> bool:
    """Set the overlay of the stage ``tag`` assigns to that version's recorded image."""
    artifact = registry.artifact_name(repo / registry.DVC_YAML)
    parsed = parse_name(tag, raise_on_fail=False)
    if not parsed or parsed.get("action") != Action.ASSIGN or parsed.get("name") != artifact:
        print(f"{tag!r} assigns no stage of {artifact}: nothing to deploy")
        return False
    registry.fetch_registry(repo, artifact)
    reg = registry.Registry.read(repo, artifact)
    ours = next((a for a in reg.assignments if a.tag == tag), None)
    if ours is None:
        raise DeployError(f"no annotated tag {tag} on origin")

    def still_current():
        registry.fetch_registry(repo, artifact)
        latest = registry.Registry.read(repo, artifact).current(ours.stage)
        if latest.tag != tag:
            raise Superseded(f"{tag} was superseded by {latest.tag} ({latest.version}), assigned "
                             "later: its pipeline deploys that one; nothing to do here")

    _, record = reg.require(ours.version)
    reference, _, digest = record.get("image", "").rpartition("@")
    name, _, image_tag = reference.rpartition(":")
    if name != image or not digest.startswith("sha256:"):
        raise DeployError(f"{artifact} {ours.version}'s record names image "
                          f"{record.get('image')!r}, not {image}:TAG@sha256:...")
    previous = reg.current(ours.stage, before=ours.number)
    if (previous and "override" not in ours.record and "rollback" not in ours.record
            and not gitops.is_ancestor(repo, ours.commit, previous.commit)):
        passed, gate_line = Gate.on_main(repo).verdict(repo, reg, ours.version,
                                                       previous.version)
        if not passed:
            raise DeployError(f"refused: {gate_line.removeprefix('gate: ')}; the tag records "
                              "no override (make promote OVERRIDE=\"why\")")
    try:
        return gitops.deploy(ours.stage, image, image_tag, digest, repo_url, branch, repo,
                             rollback="rollback" in ours.record,
                             note=f"promotion: {tag} ({artifact} {ours.version})",
                             before_attempt=still_current)
    except Superseded as superseded:
        print(superseded)
        return False


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    assigning = commands.add_parser("assign", help="push a stage tag (make promote)")
    assigning.add_argument("--version", required=True, help="e.g. v0.0.2 (see make models)")
    assigning.add_argument("--stage", default="production")
    assigning.add_argument("--rollback", action="store_true", help="allow an earlier version")
    assigning.add_argument("--override", default="", help="why the gate is passed over")
    deploying = commands.add_parser("deploy", help="deploy a stage tag (CI on that tag)")
    deploying.add_argument("--tag", required=True, help="e.g. model#production#3")
    gitops.add_target_arguments(deploying)
    args = parser.parse_args(argv)
    repo = Path(".")
    if args.command == "assign":
        return gitops.exit_code(
            lambda: assign(repo, args.version, args.stage, args.rollback, args.override))
    return gitops.exit_code(
        lambda: deploy_promotion(repo, args.tag, args.image, args.repo_url, args.branch))


if __name__ == "__main__":
    sys.exit(main())

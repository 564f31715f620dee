"""Promotion latency in the local loop: from a pushed stage tag to the production
overlay commit on origin, beside a plain `make deploy` of the same commit.

    .venv/bin/python bench/bench_promotion.py --runs 3

Setup (not timed): bake the default project, `make repro`, commit, a bare
origin; release two versions as main CI does (`make deploy register`) with
build/pushed-image written by hand (no image registry is on this path: a
promotion reads the digest from the version's tag). Each run starts again from
the two releases with nothing promoted, then:
  make promote            gate, GTO stage tag, push (what a person runs)
  make deploy-promotion   the tag's pipeline: registry read, overlay commit, push (timed:
                          tag on origin -> production overlay commit on origin)
  baseline                `make deploy ENV=production TAG=<same commit>`: the same
                          overlay commit without the registry
Prints the medians, the ratio and the target (deploy-promotion < 10 s).
"""
import argparse
import hashlib
import statistics
import tempfile
from pathlib import Path

from common import baked_project, sh, timed

TARGET_SECONDS = 10.0
IMAGE = "ghcr.io/my-org/tumor-classifier"  # the default answers' IMAGE


def release(project: Path, env: dict) -> str:
    """Main CI's deploy and register for HEAD, with a made-up digest for its image."""
    sha = sh(["git", "rev-parse", "HEAD"], project, env).strip()
    (project / "build").mkdir(exist_ok=True)
    digest = hashlib.sha256(sha.encode()).hexdigest()
    (project / "build" / "pushed-image").write_text(f"{IMAGE}:{sha}@sha256:{digest}\n")
    sh(["make", "deploy", "register"], project, env)
    sh(["git", "pull", "-q", "--ff-only", "origin", "main"], project, env)
    return sha


def released_project(work: Path) -> tuple:
    project, env = baked_project(work)
    origin = work / "origin.git"
    sh(["make", "repro"], project, env)
    sh(["git", "add", "-A"], project, env)
    sh(["git", "commit", "-q", "-m", "pipeline run"], project, env)
    sh(["git", "clone", "-q", "--bare", str(project), str(origin)], work, env)
    sh(["git", "remote", "add", "origin", str(origin)], project, env)
    sh(["git", "fetch", "-q", "origin"], project, env)
    release(project, env)
    with open(project / "README.md", "a") as readme:
        readme.write("\nA second release.\n")
    sh(["git", "commit", "-q", "-am", "second release"], project, env)
    sh(["git", "push", "-q", "origin", "HEAD:main"], project, env)
    second = release(project, env)
    return project, origin, env, second


def reset(project: Path, origin: Path, env: dict, released: str) -> None:
    """Back to the two releases: no stage tag, production untouched."""
    for repo in (origin, project):
        tags = sh(["git", "tag", "--list", "model#*"], repo, env).split()
        if tags:
            sh(["git", "tag", "--delete", *tags], repo, env)
    sh(["git", "update-ref", "refs/heads/main", released], origin, env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times = {"make promote": [], "make deploy-promotion": [], "make deploy (baseline)": []}
    with tempfile.TemporaryDirectory(prefix="bench-promotion-") as work:
        project, origin, env, second = released_project(Path(work))
        released = sh(["git", "rev-parse", "main"], origin, env).strip()
        for _ in range(args.runs):
            reset(project, origin, env, released)
            times["make promote"].append(
                timed(["make", "promote", "VERSION=v0.0.2"], project, env))
            times["make deploy-promotion"].append(
                timed(["make", "deploy-promotion", "PROMOTION_TAG=model#production#1"],
                      project, env))
            reset(project, origin, env, released)
            times["make deploy (baseline)"].append(
                timed(["make", "deploy", "ENV=production", f"TAG={second}"], project, env))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"median of {args.runs} runs, seconds (default project, two released versions)")
    for name, value in medians.items():
        print(f"{name:<24} {value:6.2f}")
    ours = medians["make deploy-promotion"]
    print(f"tag -> production overlay commit: {ours:.2f} s, target < {TARGET_SECONDS:.0f} s: "
          f"{'yes' if ours < TARGET_SECONDS else 'NO'}")
    print(f"ratio deploy-promotion / plain deploy: {ours / medians['make deploy (baseline)']:.2f}")


if __name__ == "__main__":
    main()

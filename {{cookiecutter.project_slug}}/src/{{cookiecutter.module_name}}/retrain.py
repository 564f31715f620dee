"""Retrain on fresh data and propose the result as one pull/merge request (`make retrain`).

`make retrain` runs four steps; the middle two are `make pull repro`:

    # clean tree? then `dvc update` the imports
    python -m {{ cookiecutter.module_name }}.retrain refresh
    make pull repro
    python -m {{ cookiecutter.module_name }}.retrain publish --hosting github --repo ORG/REPO

`publish` commits whatever the run changed (.dvc files, dvc.lock, metrics,
plots) to one branch, force-pushes it (each run starts again from the base
branch) and opens a pull/merge request, or updates the open one. The normal
pull-request pipeline then posts the report and applies the gate. When
nothing changed it says so and creates nothing.
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path

import yaml

from {{ cookiecutter.module_name }} import hosting
from {{ cookiecutter.module_name }}.gitops import DeployError, git, identity_args
from {{ cookiecutter.module_name }}.webapi import ApiError

TITLE = "Retrain the model on refreshed data"


class RetrainError(Exception):
    """Retraining cannot go on; the message says why and what to do."""


def changed_paths(repo: Path = Path(".")) -> list:
    """Paths git sees as modified, added, deleted or untracked (not ignored)."""
    status = git(repo, "status", "--porcelain", "-z", "--untracked-files=all").stdout
    return [entry[3:] for entry in status.split("\0") if entry]


def dvc(*args: str) -> None:
    print("+ dvc " + " ".join(args), flush=True)
    if subprocess.run([sys.executable, "-m", "dvc", *args]).returncode != 0:
        raise RetrainError(f"dvc {args[0]} failed (its output is above)")


def imports(repo: Path = Path(".")) -> list:
    """The .dvc files of `dvc import` / `dvc import-url` data: they have deps (a source)."""
    listed = git(repo, "ls-files", "-z", "*.dvc").stdout.split("\0")
    return [name for name in filter(None, listed)
            if (yaml.safe_load((repo / name).read_text(encoding="utf-8")) or {}).get("deps")]


def refresh() -> None:
    """Bring imported data to its source's latest version, before `make pull repro`."""
    dirty = changed_paths()
    if dirty:
        raise RetrainError(
            f"uncommitted changes ({', '.join(dirty[:5])}): commit or stash them first, "
            "so the retraining commit holds only what retraining changed")
    imported = imports()
    if imported:
        dvc("update", *imported)
    else:
        print("no imported data to update: `make pull` fetches `dvc add`-ed data and "
              "`make repro` re-makes data that a stage makes")


def request_body(reason: str, changes: list) -> str:
    metrics = subprocess.run([sys.executable, "-m", "dvc", "metrics", "diff", "HEAD", "--md"],
                             capture_output=True, text=True).stdout.strip()
    files = "\n".join(f"- `{path}`" for path in changes)
    return (f"Automated retraining ({reason}): the refreshed data changed the pipeline's "
            f"outputs.\n\nChanged files:\n{files}\n\n"
            f"Metrics against the base commit:\n\n{metrics or '(no metrics to compare)'}\n\n"
            "The pull-request pipeline posts the full report and applies the gate.\n")


def publish(branch: str, base: str, reason: str, client=None,
            data_unavailable: Path = None) -> bool:
    """Commit the run's changes to ``branch``, push it, open or update its request."""
    if data_unavailable and data_unavailable.is_file():
        raise RetrainError("the pipeline did not run: "
                           + data_unavailable.read_text(encoding="utf-8").strip())
    changes = changed_paths()
    if not changes:
        print("retrain: data, model and metrics are unchanged: no branch, no request")
        return False
    body = request_body(reason, changes)
    git(Path("."), "switch", "--quiet", "-C", branch)
    git(Path("."), "add", "--all")
    git(Path("."), *identity_args(Path(".")), "commit", "--quiet", "-m", f"retrain: {reason}")
    # The branch belongs to this job: every run rebuilds it from the base branch.
    # gitops.git answers a credential prompt with GITOPS_TOKEN, as for make deploy.
    git(Path("."), "push", "--quiet", "--force", "origin", f"HEAD:refs/heads/{branch}")
    print(f"retrain: pushed {len(changes)} changed files to {branch}")
    if client is None:
        print("retrain: HOSTING is not set: open the pull/merge request by hand")
    else:
        print(f"retrain: {hosting.open_or_update(client, branch, base, TITLE, body)}")
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    steps.add_parser("refresh", help="update imports and pull tracked data (clean tree only)")
    publish_step = steps.add_parser("publish", help="commit, push, open or update the request")
    publish_step.add_argument("--branch", default="retrain/auto")
    publish_step.add_argument("--base", default="main", help="the branch the request targets")
    publish_step.add_argument("--reason",
                              default=os.environ.get("RETRAIN_REASON") or "scheduled run",
                              help="why this run started (default: $RETRAIN_REASON)")
    publish_step.add_argument("--hosting", default="", help="github | gitlab | empty: no request")
    publish_step.add_argument("--api-url", default="", help="API base URL; empty: the public one")
    publish_step.add_argument("--repo", default="", help="GitHub owner/name or GitLab project")
    publish_step.add_argument("--data-unavailable", type=Path,
                              help="written by `make pull` when the data could not be read")
    args = parser.parse_args(argv)
    try:
        if args.step == "refresh":
            refresh()
            return 0
        client = None
        if args.hosting:
            client = hosting.client(args.hosting, args.api_url, args.repo,
                                    os.environ.get("REPO_TOKEN", ""))
        publish(args.branch, args.base, args.reason, client, args.data_unavailable)
    except (RetrainError, DeployError, ApiError, ValueError) as error:
        print(f"ERROR: retrain: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make template-check`: has the template moved on since this project was made or updated?

.cruft.json records the template's repository, its version and the commit
this project came from. The check asks that repository which commit its
default branch (or ``--ref``, a branch or tag) points at now, with ``git
ls-remote``: one round trip and no clone, so CI can afford it on every run.
``make template-update`` (cruft) then does the real work.

A notice, never a failure: it exits 0 when behind, and when it cannot
check (then it says why on stderr).

    python -m {{ cookiecutter.module_name }}.template_check [--ref v0.3.0]
"""
import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

STATE_FILE = Path(".cruft.json")
COMMIT = re.compile(r"[0-9a-f]{7,40}")
PEELED = "^{}"  # git ls-remote's suffix for the commit an annotated tag points at


class CheckError(Exception):
    """The template's current commit could not be found."""


def latest_commit(template: str, ref: str) -> str:
    """The commit ``ref`` (HEAD when empty) names in ``template``; a tag's
    commit, not the tag object."""
    wanted = [ref, ref + PEELED] if ref else ["HEAD"]
    result = subprocess.run(["git", "ls-remote", template, *wanted], capture_output=True,
                            text=True, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    if result.returncode != 0:
        raise CheckError(result.stderr.strip() or f"git ls-remote exited {result.returncode}")
    refs = {}
    for line in result.stdout.splitlines():  # "<sha>\t<ref name>"
        sha, name = line.split("\t", 1)
        refs[name] = sha
    for name in ("HEAD", f"refs/tags/{ref}{PEELED}", f"refs/tags/{ref}", f"refs/heads/{ref}"):
        if name in refs:
            return refs[name]
    if COMMIT.fullmatch(ref):
        return ref  # a commit: compared by its prefix
    raise CheckError(f"{template} has no branch or tag {ref!r}")


def describe(state: dict) -> str:
    version = state.get("context", {}).get("cookiecutter", {}).get("_template_version", "?")
    return f"v{version} {state['commit'][:12]}"


def check(ref: str) -> int:
    if not STATE_FILE.exists():
        print("template-check: no .cruft.json (README, 'Template updates')", file=sys.stderr)
        return 0
    try:
        state = json.loads(STATE_FILE.read_text(encoding="utf-8"))
        if not COMMIT.fullmatch(str(state.get("commit", ""))):
            raise CheckError(f"{STATE_FILE}: no template commit recorded")
        latest = latest_commit(state["template"], ref)
    except (CheckError, ValueError, KeyError, AttributeError) as error:  # a damaged file too
        print(f"{error}\ntemplate-check: could not check the template (see above)",
              file=sys.stderr)
        return 0
    if state["commit"].startswith(latest):  # latest: a full SHA, or the --ref given
        print(f"template: up to date ({describe(state)})")
    else:
        print(f"template: behind (this project: {describe(state)}; the template: "
              f"{latest[:12]}); run make template-update")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="", help="a template branch or tag (default: its HEAD)")
    return check(parser.parse_args(argv).ref)


if __name__ == "__main__":
    sys.exit(main())

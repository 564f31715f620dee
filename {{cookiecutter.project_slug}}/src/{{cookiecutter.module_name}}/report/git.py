"""The few git questions the report asks: which commit, and a file at a commit."""
import re
import subprocess

from {{ cookiecutter.module_name }}.report import ReportError

FULL_SHA = re.compile(r"[0-9a-f]{40}")


def git(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["git", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise ReportError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result


def commit_of(rev: str):
    """The full SHA ``rev`` names, or None when this clone does not have it."""
    result = git("rev-parse", "--verify", "--quiet", rev + "^{commit}", check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def fetch_from_origin(rev: str) -> str:
    """CI clones are shallow and hold only the PR's commit: fetch the base too.

    A branch or tag lands in refs/remotes/origin/, where the next lookup finds it;
    returns the name to look up.
    """
    if FULL_SHA.fullmatch(rev):
        refspec, fetched = rev, rev
    else:
        name = rev.removeprefix("origin/")
        refspec, fetched = f"+{name}:refs/remotes/origin/{name}", f"origin/{name}"
    result = git("fetch", "--quiet", "--depth=1", "origin", refspec, check=False)
    if result.returncode != 0:
        raise ReportError(
            f"base revision {rev!r} is not in this clone and `git fetch origin {refspec}` "
            f"failed: {result.stderr.strip()}"
        )
    return fetched


def resolve_base(rev: str) -> str:
    """The base commit's SHA: a local ref, else origin/<rev>, else fetched from origin."""
    for candidate in (rev, f"origin/{rev}"):
        sha = commit_of(candidate)
        if sha:
            return sha
    if "origin" in git("remote").stdout.split():
        sha = commit_of(fetch_from_origin(rev))
        if sha:
            return sha
    raise ReportError(
        f"base revision {rev!r} not found (no such branch, tag or commit here or on origin); "
        "set BASE_REV to the branch the pull request targets"
    )


def show(sha: str, path: str):
    """The text of ``path`` at commit ``sha``, or None when the commit has no such file."""
    if git("cat-file", "-e", f"{sha}:{path}", check=False).returncode != 0:
        return None
    return git("show", f"{sha}:{path}").stdout


def head_sha() -> str:
    return git("rev-parse", "HEAD").stdout.strip()


def has_uncommitted_changes() -> bool:
    return bool(git("status", "--porcelain").stdout.strip())

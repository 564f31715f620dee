"""Point one environment at a new image in git, the GitOps way (`make deploy`).

Argo CD deploys whatever `deploy/overlays/<env>` on the main branch says, so
deploying is a commit: set the overlay's image tag (and digest), commit with
"[skip ci]" so CI does not run again for it, push. The edit is made in a fresh
checkout of the remote branch (a temporary git worktree of this repo, or a
clone of a separate config repo), never in CI's workspace, and:

- a tag that is already set is a no-op (re-running a pipeline changes nothing);
- a deploy never goes backwards by accident: the new tag's commit must descend
  from the one the overlay runs. Image tags are commits of this project, so the
  check runs in this checkout even when the manifests live in a config repo.
  `--rollback` (`make deploy ROLLBACK=1`) deploys an older commit on purpose;
- a push rejected because another push came first is not rebased: the branch
  is fetched again and the change re-applied on top (the guard above runs
  again too), a bounded number of times. Any other failure (authentication,
  branch protection, network) stops with that cause named;
- no message shows a credential: `user:token@` in a URL is masked.

    python -m {{ cookiecutter.module_name }}.gitops --env staging --image REGISTRY/NAME --tag SHA
"""
import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from ruamel.yaml import YAML

SKIP_CI = "[skip ci]"
OVERLAYS = Path("deploy") / "overlays"
MAX_PUSH_ATTEMPTS = 4
# Used only when git has no identity configured (a bare CI runner).
FALLBACK_IDENTITY = ("CI deploy", "ci-deploy@example.invalid")
# With GITOPS_TOKEN set, git asks this helper for the credential when a server
# wants one; the token is read from the environment then, never put in a URL or
# on a command line. GITOPS_USER: oauth2 on GitLab; GitHub takes any name.
CREDENTIAL_HELPER = ('!f() { test "$1" = get && printf "username=%s\\npassword=%s\\n" '
                     '"${GITOPS_USER:-x-access-token}" "$GITOPS_TOKEN"; }; f')
CREDENTIALS_IN_URL = re.compile(r"(?<=://)[^/@\s]+@")
COMMIT_LIKE = re.compile(r"[0-9a-f]{7,40}")

# Why a push, fetch or clone failed, from git's own words (first match wins).
RACE = "another push came first (the branch or tag moved since it was fetched)"
FAILURE_CAUSES = (
    (RACE, ("[rejected]", "fetch first", "non-fast-forward", "already exists", "stale info",
            "cannot lock ref")),
    ("rejected by the server: a protected branch or tag, or a server-side hook; "
     "allow this token to push there",
     ("[remote rejected]", "protected branch", "hook declined", "not allowed to push")),
    ("authentication failed: check the token or key and that it may write to the repository",
     ("authentication failed", "could not read username", "permission denied",
      "access denied", "returned error: 401", "returned error: 403",
      "invalid username or password", "terminal prompts disabled")),
    ("network: the git server could not be reached",
     ("could not resolve host", "connection refused", "connection timed out", "timed out",
      "failed to connect", "network is unreachable", "hung up unexpectedly", "early eof")),
)


class DeployError(Exception):
    """A deploy step failed; the message says which and why."""


def redact(text: str) -> str:
    """Mask the `user:password@` part of every URL in ``text``."""
    return CREDENTIALS_IN_URL.sub("***@", text)


def failure_cause(stderr: str) -> str:
    lowered = stderr.lower()
    for cause, markers in FAILURE_CAUSES:
        if any(marker in lowered for marker in markers):
            return cause
    return "see git's message"


def git_environment() -> dict:
    """Never prompt (a missing credential fails the job); answer with GITOPS_TOKEN if set."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    if env.get("GITOPS_TOKEN"):
        count = int(env.get("GIT_CONFIG_COUNT") or 0)
        # An empty helper first: only ours answers, not one configured on the machine.
        for offset, helper in enumerate(("", CREDENTIAL_HELPER)):
            env[f"GIT_CONFIG_KEY_{count + offset}"] = "credential.helper"
            env[f"GIT_CONFIG_VALUE_{count + offset}"] = helper
        env["GIT_CONFIG_COUNT"] = str(count + 2)
    return env


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                            env=git_environment())
    if check and result.returncode != 0:
        raise DeployError(redact(f"git {' '.join(args)} failed: {failure_cause(result.stderr)}\n"
                                 f"{result.stderr.strip()}"))
    return result


def push(repo: Path, refspec: str) -> bool:
    """Push ``refspec`` to origin: True if it landed, False if another push came first."""
    result = git(repo, "push", "--quiet", "origin", refspec, check=False)
    if result.returncode == 0:
        return True
    cause = failure_cause(result.stderr)
    if cause == RACE:
        return False
    raise DeployError(redact(f"push of {refspec} failed: {cause}\n{result.stderr.strip()}"))


def identity_args(repo: Path) -> list:
    """`-c user.name=... -c user.email=...` when git has none (commit and tag need one)."""
    args = []
    for key, fallback in zip(("user.name", "user.email"), FALLBACK_IDENTITY):
        if not git(repo, "config", key, check=False).stdout.strip():
            args += ["-c", f"{key}={fallback}"]
    return args


def pushed_digest(pushed_file: Path, image: str, tag: str):
    """The digest `make push` recorded for image:tag, or None if it recorded another image."""
    if not pushed_file.is_file():
        return None
    reference, _, digest = pushed_file.read_text().strip().rpartition("@")
    return digest if reference == f"{image}:{tag}" and digest.startswith("sha256:") else None


def yaml_round_trip() -> YAML:
    """A YAML loader/dumper that keeps comments, order and our 2-space list style."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def image_entry(data, kustomization: Path, image: str):
    entries = data.get("images") or []
    entry = next((item for item in entries if item.get("name") == image), None)
    if entry is None:
        names = ", ".join(str(item.get("name")) for item in entries) or "none"
        raise DeployError(f"{kustomization}: no `images:` entry named {image} "
                          f"(entries: {names}); IMAGE must be the name the overlay uses")
    return entry


def deployed_tag(kustomization: Path, image: str) -> str:
    """The tag the overlay runs now."""
    return str(image_entry(yaml_round_trip().load(kustomization), kustomization, image)
               .get("newTag", ""))


def set_image(kustomization: Path, image: str, tag: str, digest=None) -> bool:
    """Set the `images:` entry named ``image``; return False if it already says so."""
    yaml = yaml_round_trip()
    data = yaml.load(kustomization)
    entry = image_entry(data, kustomization, image)
    same_tag = str(entry.get("newTag")) == tag
    if same_tag and (digest is None or entry.get("digest") == digest):
        return False
    entry["newTag"] = tag
    if digest:
        entry["digest"] = digest
    elif "digest" in entry:
        del entry["digest"]  # it pinned the previous tag
    yaml.dump(data, kustomization)
    return True


def commit_of(repo: Path, rev: str):
    """The full SHA of the commit ``rev`` names in ``repo``, or None."""
    result = git(repo, "rev-parse", "--verify", "--quiet", rev + "^{commit}", check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def is_ancestor(repo: Path, older: str, newer: str) -> bool:
    return git(repo, "merge-base", "--is-ancestor", older, newer, check=False).returncode == 0


def check_forward(workspace: Path, env: str, deployed: str, tag: str, rollback: bool) -> None:
    """Refuse ``tag`` unless its commit descends from the ``deployed`` one (or ``rollback``)."""
    if deployed == tag:
        return
    if rollback:
        print(f"ROLLBACK: {env} goes from {deployed} to {tag} on purpose")
        return
    override = "ROLLBACK=1 deploys it anyway"
    new = commit_of(workspace, tag)
    if new is None:
        raise DeployError(f"TAG {tag} names no commit of this checkout, so it cannot be checked "
                          f"against what {env} runs ({deployed}); {override}")
    old = commit_of(workspace, deployed)
    if old is None and not COMMIT_LIKE.fullmatch(deployed):
        print(f"note: {env} runs tag {deployed!r}, which names no commit: nothing to compare")
        return
    shallow = git(workspace, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"
    hint = " This checkout is shallow: fetch its full history (fetch-depth: 0, GIT_DEPTH: 0)." \
        if shallow else ""
    if old is None:
        raise DeployError(f"{env} runs commit {deployed}, which this checkout does not have, so "
                          f"it cannot tell whether {tag} is newer.{hint} {override}")
    if is_ancestor(workspace, old, new):
        return
    relation = ("older than" if is_ancestor(workspace, new, old)
                else "not a descendant of")
    raise DeployError(f"refusing to deploy {tag}: it is {relation} {deployed}, which {env} runs "
                      f"now. A deploy never goes backwards by accident.{hint} {override}")


@contextlib.contextmanager
def fresh_checkout(workspace: Path, repo_url: str, branch: str):
    """A temporary checkout of ``branch`` in which the overlays are edited."""
    with tempfile.TemporaryDirectory(prefix="gitops-") as tmp:
        checkout = Path(tmp) / "checkout"
        if repo_url:
            git(workspace, "clone", "--quiet", "--branch", branch, repo_url, str(checkout))
            yield checkout
            return
        # A worktree of origin's branch: CI's own checkout may be older or dirty.
        git(workspace, "fetch", "--quiet", "origin", branch)
        git(workspace, "worktree", "add", "--quiet", "--detach", str(checkout), "FETCH_HEAD")
        try:
            yield checkout
        finally:
            git(workspace, "worktree", "remove", "--force", str(checkout), check=False)


def overlay_file(checkout: Path, env: str) -> Path:
    overlay = checkout / OVERLAYS / env / "kustomization.yaml"
    if not overlay.is_file():
        known = sorted(path.name for path in (checkout / OVERLAYS).glob("*") if path.is_dir())
        raise DeployError(f"no overlay {OVERLAYS / env} in the GitOps repo; "
                          f"ENV must be one of: {', '.join(known) or 'none found'}")
    return overlay


def deploy(env: str, image: str, tag: str, digest=None, repo_url: str = "",
           branch: str = "main", workspace: Path = Path("."), rollback: bool = False,
           note: str = "", before_attempt=None) -> bool:
    """Set ``env`` to image:tag in ``branch`` of origin (or of ``repo_url``) and push.

    Returns False when the overlay already said so. ``before_attempt`` is called
    after each fetch of the branch and may raise to stop (promotions use it).
    """
    reference = f"{image}:{tag}" + (f"@{digest}" if digest else "")
    with fresh_checkout(workspace, repo_url, branch) as checkout:
        for attempt in range(1, MAX_PUSH_ATTEMPTS + 1):
            git(checkout, "fetch", "--quiet", "origin", branch)
            git(checkout, "reset", "--quiet", "--hard", "FETCH_HEAD")
            if before_attempt:
                before_attempt()
            overlay = overlay_file(checkout, env)
            check_forward(workspace, env, deployed_tag(overlay, image), tag, rollback)
            if not set_image(overlay, image, tag, digest):
                print(f"{OVERLAYS / env} already runs {reference}: nothing to commit")
                return False
            message = f"deploy({env}): {image}:{tag} {SKIP_CI}" + (f"\n\n{note}" if note else "")
            git(checkout, *identity_args(checkout), "commit", "--quiet", "-m", message,
                "--", str(overlay.relative_to(checkout)))
            if push(checkout, f"HEAD:refs/heads/{branch}"):
                print(f"{OVERLAYS / env} now runs {reference} (pushed to {branch})")
                return True
            print(f"push to {branch} was rejected: {RACE}; fetching it again to re-apply "
                  f"the change on top (attempt {attempt} of {MAX_PUSH_ATTEMPTS})")
    raise DeployError(f"push to {branch} was rejected {MAX_PUSH_ATTEMPTS} times: other pushes "
                      "kept coming first; run the deploy again")


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """Which image, and where its overlays live (the Makefile's GITOPS_ARGS)."""
    parser.add_argument("--image", required=True, help="registry/name, without tag")
    parser.add_argument("--repo-url", default="",
                        help="separate GitOps config repo; empty: this repo's origin")
    parser.add_argument("--branch", default="main", help="branch Argo CD follows")


def exit_code(action) -> int:
    """Run ``action``; a DeployError becomes one ERROR line (credentials masked) and 1."""
    try:
        action()
    except DeployError as error:
        print(f"ERROR: {redact(str(error))}", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, help="overlay name, e.g. staging")
    parser.add_argument("--tag", required=True, help="image tag, e.g. the commit SHA")
    parser.add_argument("--pushed-file", type=Path, default=Path("build/pushed-image"),
                        help="where `make push` recorded image:tag@digest")
    add_target_arguments(parser)
    parser.add_argument("--rollback", action="store_true",
                        help="allow a commit older than the deployed one")
    args = parser.parse_args(argv)
    if not args.tag.strip():
        print("ERROR: empty image tag (TAG is the commit SHA; is this a git checkout?)",
              file=sys.stderr)
        return 1
    digest = pushed_digest(args.pushed_file, args.image, args.tag)
    if digest is None:
        print(f"note: no digest recorded for {args.image}:{args.tag} in {args.pushed_file}; "
              "pinning by tag only")
    return exit_code(lambda: deploy(args.env, args.image, args.tag, digest, args.repo_url,
                                    args.branch, rollback=args.rollback))


if __name__ == "__main__":
    sys.exit(main())

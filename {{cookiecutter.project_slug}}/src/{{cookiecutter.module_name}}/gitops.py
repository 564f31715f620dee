"""Point one environment at a new image in git, the GitOps way (`make deploy`).

Argo CD deploys whatever `deploy/overlays/<env>` on the main branch says, so
deploying is a commit: set the overlay's image tag (and digest), commit with
"[skip ci]" so CI does not run again for it, push. The edit is made in a fresh
checkout of the remote branch (a temporary git worktree of this repo, or a
clone of a separate config repo), never in CI's workspace, and:

- a tag that is already set is a no-op (re-running a pipeline changes nothing);
- a push that loses a race with another push is rebased and retried once.

    python -m {{ cookiecutter.module_name }}.gitops --env staging --image REGISTRY/NAME --tag SHA
"""
import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from ruamel.yaml import YAML

SKIP_CI = "[skip ci]"
OVERLAYS = Path("deploy") / "overlays"
# Used only when git has no identity configured (a bare CI runner).
FALLBACK_IDENTITY = ("CI deploy", "ci-deploy@example.invalid")


class DeployError(Exception):
    """A deploy step failed; the message says which and why."""


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise DeployError(f"git {' '.join(args)} failed:\n{result.stderr.strip()}")
    return result


def identity_args(repo: Path) -> list:
    """`-c user.name=... -c user.email=...` when git has none (commit and rebase need one)."""
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


def set_image(kustomization: Path, image: str, tag: str, digest=None) -> bool:
    """Set the `images:` entry named ``image``; return False if it already says so."""
    yaml = yaml_round_trip()
    data = yaml.load(kustomization)
    entries = data.get("images") or []
    entry = next((item for item in entries if item.get("name") == image), None)
    if entry is None:
        names = ", ".join(str(item.get("name")) for item in entries) or "none"
        raise DeployError(f"{kustomization}: no `images:` entry named {image} "
                          f"(entries: {names}); IMAGE must be the name the overlay uses")
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


def push_with_one_retry(repo: Path, branch: str) -> None:
    """Push HEAD to ``branch``; if someone pushed first, rebase on theirs and push again."""
    target = f"HEAD:refs/heads/{branch}"
    if git(repo, "push", "--quiet", "origin", target, check=False).returncode == 0:
        return
    print(f"push to {branch} was rejected (another push came first): "
          "git pull --rebase, then one more push")
    rebase = git(repo, *identity_args(repo), "pull", "--rebase", "--quiet", "origin", branch,
                 check=False)
    if rebase.returncode != 0:
        git(repo, "rebase", "--abort", check=False)
        raise DeployError(f"could not rebase on origin/{branch}:\n{rebase.stderr.strip()}")
    git(repo, "push", "--quiet", "origin", target)


def update_checkout(checkout: Path, env: str, image: str, tag: str, digest, branch: str) -> bool:
    """Edit, commit and push in ``checkout``; return False when nothing had to change."""
    overlay = checkout / OVERLAYS / env / "kustomization.yaml"
    if not overlay.is_file():
        known = sorted(path.name for path in (checkout / OVERLAYS).glob("*") if path.is_dir())
        raise DeployError(f"no overlay {OVERLAYS / env} in the GitOps repo; "
                          f"ENV must be one of: {', '.join(known) or 'none found'}")
    reference = f"{image}:{tag}" + (f"@{digest}" if digest else "")
    if not set_image(overlay, image, tag, digest):
        print(f"{OVERLAYS / env} already runs {reference}: nothing to commit")
        return False
    relative = str(overlay.relative_to(checkout))
    git(checkout, "add", relative)
    git(checkout, *identity_args(checkout), "commit", "--quiet",
        "-m", f"deploy({env}): {image}:{tag} {SKIP_CI}", "--", relative)
    push_with_one_retry(checkout, branch)
    print(f"{OVERLAYS / env} now runs {reference} (pushed to {branch})")
    return True


def deploy(env: str, image: str, tag: str, digest=None, repo_url: str = "",
           branch: str = "main", workspace: Path = Path(".")) -> bool:
    """Update ``env`` in this repo's ``branch`` on origin, or in the repo at ``repo_url``."""
    with tempfile.TemporaryDirectory(prefix="gitops-") as tmp:
        checkout = Path(tmp) / "checkout"
        if repo_url:
            git(workspace, "clone", "--quiet", "--branch", branch, repo_url, str(checkout))
            return update_checkout(checkout, env, image, tag, digest, branch)
        # A worktree of origin's branch: CI's own checkout may be older or dirty.
        git(workspace, "fetch", "--quiet", "origin", branch)
        git(workspace, "worktree", "add", "--quiet", "--detach", str(checkout), "FETCH_HEAD")
        try:
            return update_checkout(checkout, env, image, tag, digest, branch)
        finally:
            git(workspace, "worktree", "remove", "--force", str(checkout), check=False)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, help="overlay name, e.g. staging")
    parser.add_argument("--image", required=True, help="registry/name, without tag")
    parser.add_argument("--tag", required=True, help="image tag, e.g. the commit SHA")
    parser.add_argument("--pushed-file", type=Path, default=Path("build/pushed-image"),
                        help="where `make push` recorded image:tag@digest")
    parser.add_argument("--repo-url", default="",
                        help="separate GitOps config repo; empty: this repo's origin")
    parser.add_argument("--branch", default="main", help="branch Argo CD follows")
    args = parser.parse_args(argv)
    if not args.tag.strip():
        print("ERROR: empty image tag (TAG is the commit SHA; is this a git checkout?)",
              file=sys.stderr)
        return 1
    digest = pushed_digest(args.pushed_file, args.image, args.tag)
    if digest is None:
        print(f"note: no digest recorded for {args.image}:{args.tag} in {args.pushed_file}; "
              "pinning by tag only")
    try:
        deploy(args.env, args.image, args.tag, digest, args.repo_url, args.branch)
    except DeployError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

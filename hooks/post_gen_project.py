"""Shape the baked project to the chosen options, link it to the template,
then optionally git init.

Runs inside the new project directory. Every file of an unselected option is
removed here, so the file set of a project is exactly what its options need.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

# Rendered by cookiecutter; a raw string keeps JSON escapes intact.
ANSWERS = json.loads(r"""{{ cookiecutter | jsonify }}""")

# The files each CI provider owns in the generated project.
CI_FILES = {
    "github": [".github"],
    "gitlab": [".gitlab-ci.yml"],
    "jenkins": ["Jenkinsfile", "Jenkinsfile.retrain"],
}


def remove(relative_path):
    path = Path(relative_path)
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def prune_ci_files():
    for provider, paths in CI_FILES.items():
        if ANSWERS["ci_provider"] not in ("all", provider):
            for path in paths:
                remove(path)


def baked_by_cruft() -> bool:
    """cruft (create, and the two bakes inside `cruft update`) puts the
    template's commit in the context; a plain cookiecutter bake does not."""
    return "_commit" in ANSWERS


def git_output(*args, cwd):
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def template_origin():
    """(template, commit, checkout, directory) as cruft records them, or None.

    cookiecutter passes the template as typed (`_template`: a path, URL or
    gh: abbreviation) and where it read it (`_repo_dir`: that path, or its
    clone). A relative path is relative to where cookiecutter ran ($PWD).
    """
    if shutil.which("git") is None:
        return None
    repo_dir = Path(os.environ.get("PWD", "."), ANSWERS["_repo_dir"]).resolve()
    top = git_output("rev-parse", "--show-toplevel", cwd=repo_dir) if repo_dir.is_dir() else None
    commit = top and git_output("rev-parse", "HEAD", cwd=repo_dir)
    if not commit:
        return None  # a zip file or a directory outside git
    top = Path(top)
    directory = str(repo_dir.relative_to(top)) if repo_dir != top else None
    if Path(os.environ.get("PWD", "."), ANSWERS["_template"]).expanduser().is_dir():
        # A local template, used as it is (cookiecutter ignores --checkout
        # there): its path, as `cruft create PATH` records it.
        template, checkout = str(top), None
        if git_output("status", "--porcelain", cwd=top):
            print(f"note: the template at {top} has uncommitted changes; .cruft.json "
                  f"records its last commit {commit[:12]}")
    else:  # cookiecutter's clone of a URL, at --checkout if given
        template = git_output("remote", "get-url", "origin", cwd=top)
        checkout = ANSWERS["_checkout"]
    return template, commit, checkout, directory


def write_cruft_state():
    """Let `cruft update` work on a plain cookiecutter bake: write the
    .cruft.json that `cruft create` would have written."""
    origin = template_origin()
    if origin is None:
        print("note: the template is not a git checkout, so no .cruft.json was written; "
              "link the project later with `cruft link <template git URL>`")
        return
    template, commit, checkout, directory = origin
    # cookiecutter's own keys for this one run; the output path is this machine's.
    context = {key: value for key, value in ANSWERS.items()
               if key not in ("_output_dir", "_repo_dir", "_checkout")}
    context.update(_template=template, _commit=commit)
    state = {"template": template, "commit": commit, "checkout": checkout,
             "context": {"cookiecutter": context}, "directory": directory}
    # The layout cruft itself writes, so its later rewrites make small diffs.
    Path(".cruft.json").write_text(
        json.dumps(state, ensure_ascii=False, indent=2, separators=(",", ": ")) + "\n")


def git_init():
    if shutil.which("git") is None:
        print("note: git not found; skipped 'git init' (run it yourself later)")
        return
    identity = ["-c", f"user.name={ANSWERS['author_name']}",
                "-c", f"user.email={ANSWERS['author_email']}"]
    commands = [
        ["git", "init", "--quiet", "--initial-branch", "main"],
        ["git", "add", "--all"],
        ["git", *identity, "commit", "--quiet", "--no-verify", "-m",
         "Initial commit from the MLOps template"],
    ]
    for command in commands:
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            print(f"ERROR: {' '.join(command)} failed:\n{result.stderr}", file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    prune_ci_files()
    if baked_by_cruft():
        # cruft writes .cruft.json after this hook, and `cruft update` bakes
        # twice to diff: a .git here would end up in that diff.
        if ANSWERS["git_init"] == "yes":
            print("note: baked by cruft, so git init is left to you: "
                  "git init -b main && git add -A && git commit -m 'New project'")
    else:
        write_cruft_state()
        if ANSWERS["git_init"] == "yes":
            git_init()

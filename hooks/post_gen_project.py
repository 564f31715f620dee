"""Shape the baked project to the chosen options, then optionally git init.

Runs inside the new project directory. Every file of an unselected option is
removed here, so the file set of a project is exactly what its options need.
"""
import json
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
    if ANSWERS["git_init"] == "yes":
        git_init()

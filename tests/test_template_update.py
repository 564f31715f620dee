"""A project keeps up with the template: cruft create from a tagged template,
user edits, a template change, `make template-check` and `make template-update`,
a clean update and a conflicting one (the README's "Template updates" flow)."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.project import TEMPLATE_ROOT, git, run

VERSION = json.loads((TEMPLATE_ROOT / "cookiecutter.json").read_text())["_template_version"]
TEMPLATE_DIR = "{{cookiecutter.project_slug}}"


def template_repo(destination: Path) -> Path:
    """The template as it is in this work tree (committed or not), in a git
    repo of its own whose one commit is tagged v<version>, like a release."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=TEMPLATE_ROOT, check=True, capture_output=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source = TEMPLATE_ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(destination, "commit", "-q", "-m", "Template release")
    git(destination, "tag", f"v{VERSION}")
    return destination


def make(project: Path, target: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(["make", "--no-print-directory", target, f"PYTHON={sys.executable}"], project,
               check=check)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name}: {old!r} not found"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return template_repo(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="module")
def project(template, tmp_path_factory) -> Path:
    """`cruft create --checkout v<version>`, then the README's first commit."""
    parent = tmp_path_factory.mktemp("projects")
    result = run([sys.executable, "-m", "cruft", "create", str(template), "--checkout",
                  f"v{VERSION}", "--no-input", "--output-dir", str(parent)], parent)
    assert "git init is left to you" in result.stdout
    project = parent / "tumor-classifier"
    assert not (project / ".git").exists()
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "New project")
    return project


def test_cruft_create_records_template_commit_and_version(template, project):
    state = json.loads((project / ".cruft.json").read_text())
    assert state["template"] == str(template)
    assert state["commit"] == git(template, "rev-parse", "HEAD").strip()
    assert state["checkout"] == f"v{VERSION}"
    assert state["context"]["cookiecutter"]["_template_version"] == VERSION
    assert make(project, "template-check").stdout.startswith(
        f"template: up to date (v{VERSION} {state['commit'][:12]})")


def test_update_brings_template_changes_and_keeps_user_edits(template, project):
    # The user's own changes: a param, a stage module, the README.
    edit(project / "params.yaml", "n_estimators: 100", "n_estimators: 50")
    edit(project / "src/tumor_classifier/train.py", "def main() -> None:\n",
         "# Our team's note: trained nightly.\n\n\ndef main() -> None:\n")
    with (project / "README.md").open("a") as readme:
        readme.write("\n## Our notes\n\nOwned by the fraud team.\n")
    git(project, "commit", "-q", "-am", "Our changes")
    # The template moves on: a new Makefile target and a changed CI file.
    with (template / TEMPLATE_DIR / "Makefile").open("a") as makefile:
        makefile.write("\nhello: ## Say hello (added by the template)\n\t@echo hello\n")
    edit(template / TEMPLATE_DIR / ".github/workflows/pull-request.yml",
         "timeout-minutes: 30", "timeout-minutes: 25")
    git(template, "commit", "-q", "-am", "New target, shorter CI timeout")
    new_commit = git(template, "rev-parse", "HEAD").strip()

    assert make(project, "template-check").stdout.startswith(
        f"template: behind (this project: v{VERSION} ")
    make(project, "template-update")

    assert "hello: ## Say hello" in (project / "Makefile").read_text()
    assert "timeout-minutes: 25" in (
        project / ".github/workflows/pull-request.yml").read_text()
    assert "n_estimators: 50" in (project / "params.yaml").read_text()
    assert "# Our team's note" in (project / "src/tumor_classifier/train.py").read_text()
    assert "Owned by the fraud team." in (project / "README.md").read_text()
    assert json.loads((project / ".cruft.json").read_text())["commit"] == new_commit
    assert make(project, "hello").stdout == "hello\n"
    assert make(project, "template-check").stdout.startswith("template: up to date")
    git(project, "commit", "-q", "-am", "Template update")


def test_conflicting_edit_leaves_git_conflict_markers(template, project):
    """Both sides change the same line: the documented state is git's own
    merge conflict (markers in the file, the path unmerged in the index)."""
    edit(template / TEMPLATE_DIR / "params.yaml", "n_estimators: 100", "n_estimators: 200")
    git(template, "commit", "-q", "-am", "More trees by default")
    make(project, "template-update")

    unmerged = git(project, "diff", "--name-only", "--diff-filter=U").split()
    assert unmerged == ["params.yaml"]
    params = (project / "params.yaml").read_text()
    assert "<<<<<<< ours\n    n_estimators: 50\n=======\n    n_estimators: 200\n>>>>>>> theirs" \
        in params
    assert not list(project.rglob("*.rej"))
    # The README's resolution: edit the file, git add it, commit.
    (project / "params.yaml").write_text(
        params.replace("<<<<<<< ours\n    n_estimators: 50\n=======\n    n_estimators: 200\n"
                       ">>>>>>> theirs\n", "    n_estimators: 50\n"))
    git(project, "add", "params.yaml")
    git(project, "commit", "-q", "-am", "Template update, kept our trees")
    assert git(project, "status", "--porcelain") == ""
    assert make(project, "template-check").stdout.startswith("template: up to date")


def test_plain_cookiecutter_bake_can_be_updated_by_cruft(template, tmp_path):
    """No cruft at bake time: the post-gen hook writes the .cruft.json that
    `cruft create` would have, inside the first commit."""
    url = template.as_uri()  # cloned by cookiecutter, like an https:// URL
    run([sys.executable, "-m", "cookiecutter", "--no-input", "--checkout", f"v{VERSION}",
         f"git+{url}", "--output-dir", str(tmp_path)], tmp_path)
    project = tmp_path / "tumor-classifier"
    state = json.loads((project / ".cruft.json").read_text())
    assert state["template"] == url and state["checkout"] == f"v{VERSION}"
    assert state["commit"] == git(template, "rev-parse", f"v{VERSION}^{{commit}}").strip()
    assert state["context"]["cookiecutter"]["_template_version"] == VERSION
    assert "_output_dir" not in state["context"]["cookiecutter"]
    assert git(project, "status", "--porcelain") == ""
    assert make(project, "template-check").stdout.startswith("template: behind")
    make(project, "template-update")
    assert "hello: ## Say hello" in (project / "Makefile").read_text()
    assert "n_estimators: 200" in (project / "params.yaml").read_text()


def test_template_check_says_when_it_cannot_check(tmp_path, template, project):
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    state = json.loads((copy / ".cruft.json").read_text())
    state["template"] = str(tmp_path / "no-such-template")
    (copy / ".cruft.json").write_text(json.dumps(state))
    result = make(copy, "template-check")  # a notice: exits 0 all the same
    assert result.stdout == "" and "could not check the template" in result.stderr
    (copy / ".cruft.json").unlink()
    assert "no .cruft.json" in make(copy, "template-check").stderr

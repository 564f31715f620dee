"""Template releases: the version in cookiecutter.json, CHANGELOG.md and the
vX.Y.Z tag agree (`make release-check`, run first by `make test`, so by CI),
and `make release` tags only a dated, committed entry."""
import json
import re
import shutil
from pathlib import Path

import pytest

from support.project import TEMPLATE_ROOT, git, run

FILES = ["Makefile", "cookiecutter.json", "CHANGELOG.md", "scripts/release.py"]


def make(root: Path, target: str, check: bool = True):
    return run(["make", "--no-print-directory", target], root, check=check)


@pytest.fixture
def template(tmp_path) -> Path:
    """The release files of this template in a git repo of their own."""
    for name in FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(TEMPLATE_ROOT / name, tmp_path / name)
    run(["git", "init", "-q", "-b", "main"], tmp_path)
    run(["git", "add", "-A"], tmp_path)
    git(tmp_path, "commit", "-q", "-m", "Template")
    return tmp_path


def set_version(root: Path, version: str) -> None:
    path = root / "cookiecutter.json"
    path.write_text(re.sub(r'"_template_version": "[^"]*"', f'"_template_version": "{version}"',
                           path.read_text()))


def date_newest_entry(root: Path) -> None:
    path = root / "CHANGELOG.md"
    path.write_text(path.read_text().replace("] - Unreleased", "] - 2026-12-01", 1))
    git(root, "commit", "-q", "-am", "Date the release")


def test_this_template_version_and_changelog_agree():
    version = json.loads((TEMPLATE_ROOT / "cookiecutter.json").read_text())["_template_version"]
    result = make(TEMPLATE_ROOT, "release-check")
    assert f"version {version} and CHANGELOG.md agree" in result.stdout
    assert "release-check" in re.search(r"^test:.*$", (TEMPLATE_ROOT / "Makefile").read_text(),
                                        re.M).group()


def test_a_version_without_its_entry_fails_naming_the_fix(template):
    set_version(template, "9.9.9")
    result = make(template, "release-check", check=False)
    assert result.returncode != 0
    assert "add a '## [9.9.9] - Unreleased' entry" in result.stderr


def test_entries_must_be_newest_first(template):
    changelog = template / "CHANGELOG.md"
    changelog.write_text(changelog.read_text() + "\n## [5.0.0] - 2020-01-01\n\nToo new.\n")
    result = make(template, "release-check", check=False)
    assert result.returncode != 0 and "newest first" in result.stderr


def test_release_tags_a_dated_committed_entry_once(template):
    version = json.loads((template / "cookiecutter.json").read_text())["_template_version"]
    undated = make(template, "release", check=False)
    assert undated.returncode != 0 and f"date the [{version}] entry" in undated.stderr
    date_newest_entry(template)
    (template / "CHANGELOG.md").write_text((template / "CHANGELOG.md").read_text() + "\nmore\n")
    dirty = make(template, "release", check=False)
    assert dirty.returncode != 0 and "uncommitted changes" in dirty.stderr
    run(["git", "checkout", "CHANGELOG.md"], template)

    assert f"tagged v{version}" in make(template, "release").stdout
    tagged = run(["git", "for-each-ref", "--format=%(objecttype) %(*objectname)",
                  f"refs/tags/v{version}"], template).stdout.split()
    assert tagged == ["tag", run(["git", "rev-parse", "HEAD"], template).stdout.strip()]
    again = make(template, "release", check=False)
    assert again.returncode != 0 and f"tag v{version} exists" in again.stderr

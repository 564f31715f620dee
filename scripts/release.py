"""Check that the template's version and CHANGELOG.md agree; optionally tag.

    python scripts/release.py check   the newest changelog entry is the version
                                      in cookiecutter.json (dated or Unreleased)
    python scripts/release.py tag     also: the entry is dated, the work tree is
                                      clean and vX.Y.Z is new; then tag HEAD

The version has one owner, cookiecutter.json's `_template_version`: generated
projects record it in .cruft.json.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
# "## [1.2.3] - 2026-11-27" or "## [1.2.3] - Unreleased"
ENTRY = re.compile(r"^## \[([^\]]+)\] - (\d{4}-\d{2}-\d{2}|Unreleased)$", re.MULTILINE)


class ReleaseError(Exception):
    """The version, the changelog or the repository is not ready."""


def template_version(root: Path) -> str:
    version = json.loads((root / "cookiecutter.json").read_text()).get("_template_version", "")
    if not SEMVER.match(version):
        raise ReleaseError(f"cookiecutter.json: _template_version {version!r} is not X.Y.Z")
    return version


def changelog_entries(root: Path) -> list:
    """(version, date or 'Unreleased') per entry, newest first."""
    entries = ENTRY.findall((root / "CHANGELOG.md").read_text())
    if not entries:
        raise ReleaseError("CHANGELOG.md: no '## [X.Y.Z] - YYYY-MM-DD' entry")
    for version, _ in entries:
        if not SEMVER.match(version):
            raise ReleaseError(f"CHANGELOG.md: entry [{version}] is not X.Y.Z")
    versions = [tuple(map(int, version.split("."))) for version, _ in entries]
    if versions != sorted(set(versions), reverse=True):
        raise ReleaseError("CHANGELOG.md: entries must be unique and newest first")
    if any(date == "Unreleased" for _, date in entries[1:]):
        raise ReleaseError("CHANGELOG.md: only the newest entry may be Unreleased")
    return entries


def check(root: Path) -> tuple:
    version = template_version(root)
    newest, date = changelog_entries(root)[0]
    if newest != version:
        raise ReleaseError(f"cookiecutter.json says {version} but the newest CHANGELOG.md entry "
                           f"is [{newest}]: add a '## [{version}] - Unreleased' entry")
    return version, date


def git(root: Path, *args) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                          text=True).stdout.strip()


def tag(root: Path) -> str:
    version, date = check(root)
    if date == "Unreleased":
        raise ReleaseError(f"CHANGELOG.md: date the [{version}] entry (YYYY-MM-DD) and commit it")
    if git(root, "status", "--porcelain"):
        raise ReleaseError("the work tree has uncommitted changes: commit them first")
    name = f"v{version}"
    if git(root, "tag", "--list", name):
        raise ReleaseError(f"tag {name} exists: raise _template_version in cookiecutter.json "
                           "and add its CHANGELOG.md entry")
    git(root, "tag", "--annotate", name, "--message", f"Template {name} ({date})")
    return name


def main(argv) -> int:
    if len(argv) != 1 or argv[0] not in ("check", "tag"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        if argv[0] == "check":
            version, date = check(ROOT)
            print(f"version {version} and CHANGELOG.md agree ({date})")
        else:
            name = tag(ROOT)
            print(f"tagged {name}: push it with `git push origin {name}`")
    except ReleaseError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

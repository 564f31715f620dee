"""Re-lock the generated project's uv.lock (`make lock`).

Bakes the default project with the uv.lock the template ships, runs `uv lock`
there (it keeps every version it can, so the diff shows only what moved) and
writes the result back as a template: the two lines that depend on answers,
the project's name and its default groups, become Jinja again.

The lock is made against PyPI itself, so it names no mirror or proxy of the
machine that ran this; tests/test_lock.py checks that and that it is current.
"""
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from cookiecutter.main import cookiecutter

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "{{cookiecutter.project_slug}}" / "uv.lock"
PYPI = "https://pypi.org/simple"
# The Jinja that replaces each answer-dependent line of the rendered lock.
NAME_LINE = 'name = "{{ cookiecutter.project_slug }}"'
GROUPS_LINE = ('default-groups = ["dev", {% if cookiecutter.dvc_remote != "local" %}'
               '"remote-{{ cookiecutter.dvc_remote }}", {% endif %}"serve"]')


def templated(lock: str, slug: str) -> str:
    """The rendered default project's lock, with its answers turned back into Jinja."""
    if "{{" in lock or "{%" in lock or "{#" in lock:
        sys.exit("uv.lock contains Jinja-like text; wrap it in {% raw %} first")
    lock, names = re.subn(rf'^name = "{re.escape(slug)}"$', NAME_LINE, lock, flags=re.M)
    lock, groups = re.subn(r'^default-groups = \["dev", "serve"\]$', GROUPS_LINE, lock, flags=re.M)
    if (names, groups) != (1, 1):
        sys.exit(f"expected one project name and one default-groups line, found {names}, {groups}")
    return lock


def main() -> int:
    # uv settings of this machine (a mirror, extra indexes) must not leak in.
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("UV_INDEX", "UV_EXTRA_INDEX", "UV_DEFAULT_INDEX",
                                   "UV_FIND_LINKS"))}
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(cookiecutter(str(ROOT), no_input=True, output_dir=tmp,
                                    extra_context={"git_init": "no"}))
        subprocess.run(["uv", "lock", "--no-config", "--default-index", PYPI],
                       cwd=project, env=env, check=True)
        slug = project.name
        SHIPPED.write_text(templated((project / "uv.lock").read_text(), slug))
    print(f"wrote {SHIPPED.relative_to(ROOT)}: commit it with the pyproject.toml change")
    return 0


if __name__ == "__main__":
    sys.exit(main())

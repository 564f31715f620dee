"""The uv.lock the template ships: current with every bake's pyproject.toml,
naming only PyPI, and installable offline once uv's cache is warm."""
import os
import re
import shutil
from pathlib import Path

import pytest

from support.project import TEMPLATE_ROOT, bake, run

SHIPPED_LOCK = TEMPLATE_ROOT / "{{cookiecutter.project_slug}}" / "uv.lock"
FIX = ("run `make lock` at the template root and commit {{cookiecutter.project_slug}}/uv.lock "
       "with the pyproject.toml change")
# Answers that change pyproject.toml: the name, the remote's group, Python.
ANSWER_SETS = {
    "default": {},
    "s3-other-name": {"project_name": "Churn Model", "dvc_remote": "s3",
                      "dvc_remote_url": "s3://my-bucket/churn"},
    "gcs": {"dvc_remote": "gcs", "dvc_remote_url": "gs://my-bucket/p"},
    "azure-py313": {"dvc_remote": "azure", "dvc_remote_url": "azure://box/p",
                    "python_version": "3.13"},
    "ssh": {"dvc_remote": "ssh", "dvc_remote_url": "ssh://dvc@example.com/srv/p"},
}


@pytest.fixture(scope="session")
def uv_env(tmp_path_factory) -> dict:
    """uv with its own cache, shared by this module's tests."""
    cache = tmp_path_factory.mktemp("uv-cache")
    return {**os.environ, "UV_CACHE_DIR": str(cache), "UV_PYTHON_DOWNLOADS": "never"}


def lock_check(project: Path, env: dict):
    return run(["uv", "lock", "--check"], project, check=False, env=env)


@pytest.mark.parametrize("name", sorted(ANSWER_SETS))
def test_shipped_lock_is_current(name, tmp_path, uv_env):
    project = bake(tmp_path, git_init="no", **ANSWER_SETS[name])
    result = lock_check(project, uv_env)
    assert result.returncode == 0, (
        f"the shipped uv.lock is out of date with the pyproject.toml of a bake with "
        f"{ANSWER_SETS[name]}: {FIX}\n{result.stderr}")


def test_lock_check_catches_a_changed_pin(tmp_path, uv_env):
    project = bake(tmp_path, git_init="no")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"flake8==7.5.0"', '"flake8==7.3.0"'))
    result = lock_check(project, uv_env)
    assert result.returncode != 0 and "needs to be updated" in result.stderr


def test_lock_names_only_pypi():
    """No mirror or proxy of the machine that locked: PyPI's own URLs only."""
    urls = set(re.findall(r'(?:url|registry) = "([^"]+)"', SHIPPED_LOCK.read_text()))
    hosts = {re.match(r"[a-z+]+://[^/]+", url).group() for url in urls}
    assert urls and hosts == {"https://pypi.org", "https://files.pythonhosted.org"}


@pytest.mark.slow
def test_frozen_install_works_offline_from_the_cache(tmp_path, uv_env):
    """`make install` once online fills uv's cache; then, offline, a fresh
    .venv installs from it. (That a .venv made from the lock passes the
    project's lint and tests is test_ci_run's main pipeline: `make install
    lint test` in a fresh clone.)"""
    project = bake(tmp_path)
    env = {name: value for name, value in uv_env.items() if name != "VIRTUAL_ENV"}
    run(["make", "install"], project, env=env, timeout=900)
    shutil.rmtree(project / ".venv")
    result = run(["make", "install"], project, env={**env, "UV_OFFLINE": "1"}, timeout=300)
    assert "Installed" in result.stderr
    venv_python = str(project / ".venv" / "bin" / "python")
    # The locked environment alone (no PYTHONPATH) imports the project and its tools.
    locked = {name: value for name, value in env.items() if name != "PYTHONPATH"}
    run([venv_python, "-c", "import cruft, dvc, fastapi, onnxruntime, sklearn, tumor_classifier"],
        project, env=locked)


def test_dependabot_updates_the_lock_and_the_actions(tmp_path):
    config = bake(tmp_path, ci_provider="github") / ".github" / "dependabot.yml"
    run(["check-jsonschema", "--builtin-schema", "vendor.dependabot", str(config)], tmp_path)
    ecosystems = re.findall(r"package-ecosystem: (\S+)", config.read_text())
    assert ecosystems == ["uv", "github-actions"]

"""Bake projects from the template and run commands in them, for real: the
helpers every template test and benchmark shares (conftest.py holds the fixtures)."""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

TEMPLATE_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent
# The template's suite runs its modules on every core (pytest-xdist), so a
# project's suite run inside it gains nothing from a worker per core of its
# own: it runs in one process (the workers' start-up costs CPU the other
# module needs). One bake, test_bake.py's defaults, runs it as generated.
ONE_PROCESS_SUITE = {"PYTEST_ADDOPTS": "--numprocesses 0"}
# Git needs an identity to commit; a bare CI runner has none.
GIT_IDENTITY = ["-c", "user.name=Template Tests", "-c", "user.email=tests@example.invalid"]


def bake(output_dir: Path, **answers) -> Path:
    """Generate a project with the default answers overridden by ``answers``."""
    return Path(cookiecutter(
        str(TEMPLATE_ROOT), no_input=True, extra_context=answers, output_dir=str(output_dir),
    ))


def project_env(project: Path) -> dict:
    """The environment a developer has after `make install` in ``project``."""
    return {**os.environ, "PYTHONPATH": str(project / "src")}


def make_serving_image(tools, project: Path, reference: str,
                       base_image: str = "localhost/pybase:bookworm") -> None:
    """The project's own `make image` (runs `make repro` first), daemonless with
    podman from the local stand-in for the python slim base image."""
    tools.ensure_base_image(base_image)
    image, tag = reference.rsplit(":", 1)
    run(["make", "image", "PYTHON=python", f"IMAGE={image}", f"TAG={tag}",
         "CONTAINER_TOOL=podman", f"BASE_IMAGE={base_image}",
         f"IMAGE_BUILD_FLAGS={image_build_flags(tools)}"],
        project, env={**project_env(project), **tools.env}, timeout=1800)


def image_build_flags(tools) -> str:
    """`make image` flags here: daemonless, local images only, uv's stand-in."""
    return f"--isolation chroot --pull=never --network host --build-arg UV_IMAGE={uv_image(tools)}"


def uv_image(tools) -> str:
    """A local stand-in for ghcr.io/astral-sh/uv:X (no registry here): an image
    holding only /uv, the binary of the uv wheel pinned in tests/requirements.txt."""
    uv = shutil.which("uv")
    version = run([uv, "--version"], TEMPLATE_ROOT).stdout.split()[1]
    reference = f"localhost/uv:{version}"
    with tools.lock("uv-image"):
        if not tools.image_exists(reference):
            with tempfile.TemporaryDirectory() as context:
                shutil.copy2(uv, Path(context) / "uv")
                (Path(context) / "Containerfile").write_text("FROM scratch\nCOPY uv /uv\n")
                tools.build_image(context, reference, dockerfile="Containerfile")
    return reference


def run(command, cwd: Path, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run ``command`` in ``cwd``; on an unexpected exit show everything it printed."""
    kwargs.setdefault("env", project_env(cwd))
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} exited {result.returncode} in {cwd}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
        )
    return result


def git(cwd: Path, *args: str, **kwargs) -> str:
    """Run git with the test identity in ``cwd``; its stdout."""
    return run(["git", *GIT_IDENTITY, *args], cwd, **kwargs).stdout


def broken_copy(tree: Path, destination: Path, name: str, old: str, new: str) -> Path:
    """A copy of the directory ``tree`` at ``destination`` in which the file
    ``name`` has its first ``old`` replaced by ``new``: a checker must reject it."""
    shutil.copytree(tree, destination)
    path = destination / name
    text = path.read_text()
    assert old in text, f"{name} no longer contains {old!r}: update this test"
    path.write_text(text.replace(old, new, 1))
    return destination

"""Bake projects from the template and run commands in them, for real."""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from support.containers import ContainerTools

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
BIN_DIR = Path(sys.executable).parent


@pytest.fixture(scope="session", autouse=True)
def isolated_tool_state(tmp_path_factory):
    """Keep cookiecutter, DVC and pre-commit state out of the user's home."""
    state = tmp_path_factory.mktemp("tool-state")
    config = state / "cookiecutter.yaml"
    config.write_text(
        f"cookiecutters_dir: {state / 'cookiecutters'}\nreplay_dir: {state / 'replay'}\n"
    )
    overrides = {
        "COOKIECUTTER_CONFIG": str(config),
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(state / "dvc-site-cache"),
        "PRE_COMMIT_HOME": str(state / "pre-commit"),
        "PATH": f"{BIN_DIR}{os.pathsep}{os.environ['PATH']}",
    }
    saved = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def tools() -> ContainerTools:
    """Container storage and the local base image, shared by every test that
    builds, runs or pushes an image (made once per session)."""
    container_tools = ContainerTools()
    container_tools.ensure_base_image()
    return container_tools


@pytest.fixture(scope="session")
def serving_image(tools, tmp_path_factory):
    """The default project's serving image, built once by its own `make image`
    for the GitOps loop tests, which re-tag it per release."""
    reference = "localhost/gitops-loop-serving:build"
    make_serving_image(tools, bake(tmp_path_factory.mktemp("serving")), reference)
    yield reference
    tools.remove_image(reference)


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

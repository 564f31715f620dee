"""The template tests' shared fixtures, and how pytest-xdist spreads the
modules over the machine's cores. The helpers the tests use are in support/."""
import os

import pytest

from support.containers import ContainerTools
from support.project import BIN_DIR, bake, make_serving_image


# pytest-xdist runs one group on one worker, so a module's fixtures are made
# once. Modules that share a costly session fixture form one group.
SHARED_GROUPS = {"test_gitops_loop": "serving-image", "test_promotion_loop": "serving-image"}
# Groups are handed out in this order: the longest first, each on its own
# worker (two cores: the CI run on one, everything else on the other); the
# modules not listed follow in collection order.
LONGEST_FIRST = ("test_ci_run", "test_bake", "test_retrain", "serving-image")


def group_of(item) -> str:
    module = item.module.__name__
    return SHARED_GROUPS.get(module, module)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the marks
def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group_of(item)))
    rank = {group: position for position, group in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(group_of(item), len(rank)))


@pytest.fixture(scope="session", autouse=True)
def isolated_tool_state(tmp_path_factory, worker_id):
    """Keep cookiecutter, DVC and pre-commit state out of the user's home.
    Parallel workers share it (pre-commit locks its store), so each hook
    environment is made once."""
    if worker_id == "master":  # not under xdist
        state = tmp_path_factory.mktemp("tool-state")
    else:  # the workers' basetemps share this parent
        state = tmp_path_factory.getbasetemp().parent / "tool-state"
        state.mkdir(exist_ok=True)
    config = state / f"cookiecutter-{worker_id}.yaml"  # written while the other worker bakes
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

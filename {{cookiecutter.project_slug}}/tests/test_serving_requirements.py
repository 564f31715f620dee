"""The serving image installs uv.lock's `serve` group alone (see Dockerfile):
it must stay free of the training libraries."""
import tomllib

from stage_workspace import PROJECT_ROOT

TRAINING_LIBRARIES = {"scikit-learn", "pandas", "dvc", "skl2onnx", "onnx", "matplotlib"}


def serve_packages() -> set:
    """Every package the `serve` group pulls in, by uv.lock's dependency graph."""
    lock = tomllib.loads((PROJECT_ROOT / "uv.lock").read_text())
    packages = {package["name"]: package for package in lock["package"]}
    project = packages["{{ cookiecutter.project_slug }}"]
    pending = [dependency["name"] for dependency in project["dev-dependencies"]["serve"]]
    found = set()
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending += [dependency["name"] for dependency in packages[name].get("dependencies", [])]
    return found


def test_serve_group_pulls_in_no_training_library():
    packages = serve_packages()
    assert {"fastapi", "onnxruntime", "uvicorn"} <= packages
    assert packages & TRAINING_LIBRARIES == set()

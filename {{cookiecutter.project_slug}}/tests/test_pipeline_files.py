"""dvc.yaml, the Dockerfile and the serving settings against the code they describe.

DVC re-runs a stage only when a listed dep changes, so each stage must list
every module it imports. paths.py names each artifact once; dvc.yaml, the
Dockerfile, .dockerignore and the serving defaults must copy it exactly.
"""
import ast
import re
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.module_name }} import clean, paths
from {{ cookiecutter.module_name }}.report import images
from {{ cookiecutter.module_name }}.serving.config import Settings
from stage_workspace import PROJECT_ROOT

PACKAGE = "{{ cookiecutter.module_name }}"
SOURCE = PROJECT_ROOT / "src"
STAGES = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["stages"]


def module_file(name: str):
    """The file of module ``name`` in this package, or None (e.g. a class name)."""
    base = SOURCE.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path) -> set:
    """Package modules ``path`` imports, anywhere in the file."""
    package = ".".join(path.relative_to(SOURCE).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            parent = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(filter(None, [parent, node.module]))
            # `from pkg import paths` imports the module pkg.paths; `from
            # pkg.paths import X` imports pkg.paths.
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                names.add(submodule if module_file(submodule) else module)
    return {name for name in names if name.split(".")[0] == PACKAGE}


def import_closure(module: str) -> set:
    """Files of ``module`` and of every package module it imports, transitively.

    The package's __init__.py runs first in every stage; it holds only the
    version, so it counts only where a stage imports a name from it.
    """
    files, pending = set(), [module]
    while pending:
        path = module_file(pending.pop())
        if path and path not in files:
            files.add(path)
            pending.extend(imported_modules(path))
    return {path.relative_to(PROJECT_ROOT).as_posix() for path in files}


def declared(stage: dict, kind: str) -> list:
    """Paths of one kind (deps, outs, metrics, plots); entries may carry options."""
    return [entry if isinstance(entry, str) else next(iter(entry)) for entry in stage.get(kind, [])]


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_deps_are_the_import_closure_of_its_module(name):
    stage = STAGES[name]
    module = re.fullmatch(r"python -m (\S+)", stage["cmd"]).group(1)
    code_deps = {dep for dep in declared(stage, "deps") if dep.startswith("src/")}
    closure = import_closure(module)
    assert code_deps == closure, (
        f"stage {name}: add to dvc.yaml {sorted(closure - code_deps)}, "
        f"remove {sorted(code_deps - closure)}")


def test_the_closure_follows_imports_through_modules():
    closure = import_closure(f"{PACKAGE}.prepare")
    # prepare imports load_data, which imports stage: both count.
    assert {f"src/{PACKAGE}/load_data.py", f"src/{PACKAGE}/stage.py"} <= closure
    assert f"src/{PACKAGE}/train.py" not in closure


def owned_paths() -> set:
    named = [value for value in vars(paths).values() if isinstance(value, Path)]
    return {path.as_posix() for path in [*named, *paths.PLOTS.values()]}


def test_every_artifact_in_dvc_yaml_is_named_in_paths_py():
    artifacts = {
        path for stage in STAGES.values() for kind in ("deps", "outs", "metrics", "plots")
        for path in declared(stage, kind)
        if not path.startswith("src/") and not path.startswith("${")  # the raw data param
    }
    assert artifacts - owned_paths() == set()


def test_dvc_caches_what_make_clean_removes():
    cached = {
        path for stage in STAGES.values() for path in declared(stage, "outs")
        if path != paths.BUNDLED_CSV.as_posix()  # input data: clean keeps it
    }
    assert cached == {path.as_posix() for path in paths.CACHED_OUTPUTS}


def test_clean_removes_the_cached_outputs_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    kept = [paths.METRICS, paths.BUNDLED_CSV]
    outputs = [path for path in paths.CACHED_OUTPUTS if path != paths.PREPARED_DIR]
    files = [paths.TRAIN_CSV, *outputs, *kept]
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    assert clean.main() == 0
    assert [path for path in files if path.exists()] == kept
    assert not paths.PREPARED_DIR.exists()


def test_metrics_and_plots_are_the_files_evaluate_writes():
    evaluate = STAGES["evaluate"]
    assert declared(evaluate, "metrics") == [paths.METRICS.as_posix()]
    files = {path.as_posix() for path in paths.PLOTS.values()}
    assert set(declared(evaluate, "plots")) == files
    shown = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["plots"]
    assert {file for plot in shown for spec in plot.values() for file in spec["y"]} == files


def test_the_report_draws_each_plot_as_dvc_yaml_shows_it():
    """The report's PNGs carry dvc.yaml's titles and axes (`dvc plots` shows those)."""
    shown = {}
    for plot in yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["plots"]:
        ((title, spec),) = plot.items()
        ((file, y),) = spec["y"].items()
        name = next(name for name, path in paths.PLOTS.items() if path.as_posix() == file)
        shown[name] = (title, spec["x"], y)
    assert {name: title for name, (title, _, _) in shown.items()} == images.TITLES
    for name, curve in images.CURVES.items():
        assert (curve.x, curve.y) == shown[name][1:], f"{name}: axes differ from dvc.yaml"


def served() -> set:
    return {path.as_posix() for path in paths.SERVED}


def image_sources() -> set:
    """What the Dockerfile copies from the build context (continued lines joined)."""
    text = (PROJECT_ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return {source for line in text.splitlines()
            if line.startswith("COPY ") and "--from=" not in line
            for source in line.split()[1:-1]}


def build_context() -> set:
    """What .dockerignore lets in (it ignores everything else)."""
    lines = (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
    return {line[1:] for line in lines if line.startswith("!")}


def test_the_image_copies_the_served_files():
    assert {source for source in image_sources() if source.startswith("models/")} == served()


def test_the_image_copies_the_code_serving_imports():
    # The image runs the API and the retrain relay (monitoring/retrain-relay/).
    packages = {f"src/{PACKAGE}/serving/", f"src/{PACKAGE}/relay/"}
    package_init = f"src/{PACKAGE}/__init__.py"
    imported = (import_closure(f"{PACKAGE}.serving.__main__")
                | import_closure(f"{PACKAGE}.serving.healthcheck")
                | import_closure(f"{PACKAGE}.relay.__main__"))
    modules = {source for source in image_sources() if source.startswith("src/")}
    assert packages | {package_init} <= modules
    # Besides those packages: exactly the modules they import.
    assert modules - packages - {package_init} == {
        path for path in imported if not any(map(path.startswith, packages))} - {package_init}


def test_the_build_context_is_what_the_image_copies():
    assert build_context() == image_sources()


def test_serving_defaults_are_the_served_files():
    defaults = {value.as_posix() for value in vars(Settings()).values()
                if isinstance(value, Path)}
    assert defaults == served()

"""Bake each answer combination and check the project works as generated."""
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from combinations import answer, selected_combinations
from conftest import bake, run

# Every file a project has whatever its options; paths use the default names.
COMMON_FILES = {
    ".dvc/.gitignore", ".dvc/config", ".dvcignore", ".flake8", ".gitignore",
    ".pre-commit-config.yaml", "Makefile", "README.md", "data/raw/.gitkeep",
    "dvc.yaml", "params.yaml", "pyproject.toml",
    "src/{module}/__init__.py", "src/{module}/load_data.py", "src/{module}/bundled_data.py",
    "src/{module}/use_data.py", "src/{module}/clean.py", "tests/test_use_data.py",
    "tests/test_pipeline_files.py", "tests/test_alert_rules.py",
    "src/{module}/evaluate.py", "src/{module}/featurize.py", "src/{module}/models.py",
    "src/{module}/params.py", "src/{module}/paths.py", "src/{module}/prepare.py",
    "src/{module}/schema.py", "src/{module}/stage.py", "src/{module}/train.py",
    "src/{module}/drift.py", "tests/test_drift.py",
    "src/{module}/report/__init__.py", "src/{module}/report/__main__.py",
    "src/{module}/report/compare.py", "src/{module}/report/git.py",
    "src/{module}/report/images.py", "src/{module}/report/markdown.py",
    "src/{module}/report/snapshot.py", "tests/test_report.py",
    "tests/conftest.py", "tests/test_load_data.py", "tests/test_bundled_data.py",
    "tests/test_stages.py",
    "deploy/base/kustomization.yaml", "deploy/base/deployment.yaml", "deploy/base/service.yaml",
    "deploy/base/hpa.yaml", "deploy/base/pdb.yaml", "deploy/base/networkpolicy-deny-all.yaml",
    "deploy/base/networkpolicy-api.yaml",
    "deploy/overlays/staging/kustomization.yaml", "deploy/overlays/staging/scale.yaml",
    "deploy/overlays/staging/resources.yaml",
    "deploy/overlays/production/kustomization.yaml", "deploy/overlays/production/scale.yaml",
    "deploy/overlays/production/resources.yaml",
    "deploy/argocd/project.yaml", "deploy/argocd/application-staging.yaml",
    "deploy/argocd/application-production.yaml",
    "deploy/kserve/kustomization.yaml", "deploy/kserve/kustomizeconfig.yaml",
    "deploy/kserve/inferenceservice.yaml",
    "src/{module}/gitops.py", "tests/test_gitops.py",
    "src/{module}/remote_data.py", "tests/test_remote_data.py",
    "Dockerfile", ".dockerignore", "src/{module}/export.py",
    "uv.lock", ".cruft.json",
    "src/{module}/serving/__init__.py", "src/{module}/serving/__main__.py",
    "src/{module}/serving/app.py", "src/{module}/serving/config.py",
    "src/{module}/serving/docs.py", "src/{module}/serving/healthcheck.py",
    "src/{module}/serving/traffic_metrics.py", "src/{module}/serving/model.py",
    "src/{module}/serving/connection_limits.py", "src/{module}/serving/open_inference.py",
    "src/{module}/feature_schema.py",
    "src/{module}/serving/predict.py", "src/{module}/serving/validation.py",
    "tests/test_api.py", "tests/test_export.py", "tests/test_serving_requirements.py",
    "tests/test_open_inference.py", "tests/test_serving_limits.py",
    "src/{module}/serving/drift_gauges.py", "src/{module}/alert_rules.py",
    "tests/test_monitoring.py", "monitoring/prometheus-rules.yml",
    "monitoring/prometheusrule.yaml", "monitoring/rules-test.yml",
    "monitoring/servicemonitor.yaml", "monitoring/grafana-dashboard.json",
    "monitoring/prometheus.yml",
}
CI_FILES = {
    "github": {".github/workflows/pull-request.yml", ".github/workflows/main.yml",
               ".github/dependabot.yml"},
    "gitlab": {".gitlab-ci.yml"},
    "jenkins": {"Jenkinsfile"},
}

# Jinja left behind; GitHub Actions' own ${{ expr }} is meant to stay, and so
# are Prometheus alert templates ({{ $value }}, {{ printf ... }}) and Grafana
# legends ({{feature}}) in monitoring/.
UNRENDERED = re.compile(r"(?<!\$){{(?! ?\$| printf |\w+}})|{%|{#|cookiecutter\.")


@dataclass
class Baked:
    name: str
    answers: dict
    path: Path
    files_at_bake: set
    had_git: bool


def files_of(path: Path) -> set:
    return {
        str(file.relative_to(path)) for file in path.rglob("*")
        if file.is_file() and ".git" not in file.relative_to(path).parts[:1]
    }


@pytest.fixture(scope="module", params=sorted(selected_combinations()))
def baked(request, tmp_path_factory) -> Baked:
    answers = selected_combinations()[request.param]
    path = bake(tmp_path_factory.mktemp(request.param), **answers)
    files = files_of(path)
    had_git = (path / ".git").is_dir()
    if not had_git:
        # DVC and pre-commit work inside a git repo, as they will for users.
        run(["git", "init", "-q", "-b", "main"], path)
        run(["git", "add", "-A"], path)
    return Baked(request.param, answers, path, files, had_git)


def test_file_set_matches_options(baked):
    module = baked.path.joinpath("src").iterdir().__next__().name
    provider = answer(baked.answers, "ci_provider")
    expected = {name.format(module=module) for name in COMMON_FILES}
    for ci, files in CI_FILES.items():
        if provider in ("all", ci):
            expected |= files
    assert baked.files_at_bake == expected


def test_nothing_left_unrendered(baked):
    for name in baked.files_at_bake:
        text = (baked.path / name).read_text()
        leftover = UNRENDERED.search(text)
        assert leftover is None, f"{name}: unrendered template syntax {leftover.group()!r}"


def test_git_init_follows_the_answer(baked):
    if answer(baked.answers, "git_init") == "no":
        assert not baked.had_git
        return
    assert baked.had_git
    log = run(["git", "log", "--format=%an <%ae> %s"], baked.path).stdout.splitlines()
    assert log == ["Your Name <you@example.com> Initial commit from the MLOps template"]
    assert run(["git", "status", "--porcelain"], baked.path).stdout == ""


def test_make_lint_test_repro_pass_as_generated(baked):
    """The project's own checks, as its README and CI run them: lint (flake8 and
    every pre-commit hook), its tests, then the DVC pipeline inside git."""
    result = run(["make", "lint", "test", "repro", "PYTHON=python"], baked.path)
    assert re.search(r"\d+ passed", result.stdout)
    assert not re.search(r"\d+ (failed|skipped)", result.stdout)
    metrics = json.loads((baked.path / "metrics.json").read_text())
    assert 0.8 < metrics["accuracy"] <= 1.0
    status = run(["python", "-m", "dvc", "status"], baked.path).stdout
    assert "up to date" in status

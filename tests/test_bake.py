"""Bake each answer combination and check the project works as generated."""
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from combinations import answer, selected_combinations
from support.project import ONE_PROCESS_SUITE, TEMPLATE_ROOT, bake, project_env, run

TEMPLATE_DIR = TEMPLATE_ROOT / "{{cookiecutter.project_slug}}"
# The files each CI choice owns; post_gen removes those of the others.
CI_FILES = {"github": ".github/", "gitlab": ".gitlab-ci.yml", "jenkins": "Jenkinsfile"}
# Written by the post_gen hook, not copied from the template.
HOOK_FILES = {".cruft.json"}


def expected_files(module: str, provider: str) -> set:
    """The template's own files, named as baked, less the unchosen CI files."""
    names = {str(path.relative_to(TEMPLATE_DIR)).replace("{{cookiecutter.module_name}}", module)
             for path in TEMPLATE_DIR.rglob("*") if path.is_file()}
    dropped = [prefix for ci, prefix in CI_FILES.items() if provider not in ("all", ci)]
    return {name for name in names | HOOK_FILES if not name.startswith(tuple(dropped))}


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
    expected = expected_files(module, answer(baked.answers, "ci_provider"))
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
    as_generated = baked.name == "defaults"  # the others: see ONE_PROCESS_SUITE
    env = {**project_env(baked.path), **({} if as_generated else ONE_PROCESS_SUITE)}
    result = run(["make", "lint", "test", "repro", "PYTHON=python"], baked.path, env=env)
    assert re.search(r"\d+ passed", result.stdout)
    assert not re.search(r"\d+ (failed|skipped)", result.stdout)
    metrics = json.loads((baked.path / "metrics.json").read_text())
    assert 0.8 < metrics["accuracy"] <= 1.0
    status = run(["python", "-m", "dvc", "status"], baked.path).stdout
    assert "up to date" in status

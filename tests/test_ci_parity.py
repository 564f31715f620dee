"""One pipeline, three CI systems: each CI file, read the way its system
reads it, calls the same Makefile targets in the same order, and carries the
same guards (concurrency, no secrets for pull requests, no release loop)."""
import re
from pathlib import Path

import pytest
import yaml

from combinations import answer, selected_combinations
from support import ci_pipelines as ci
from support.ci_pipelines import PROVIDERS
from support.project import TEMPLATE_ROOT, bake, run


def pipeline_targets(project: Path) -> dict:
    """The one list per pipeline, as the project's Makefile defines it."""
    printed = run(["make", "--no-print-directory", "-s", "pipelines"], project).stdout
    lists = dict(line.split(": ", 1) for line in printed.splitlines())
    return {pipeline: lists[pipeline].split() for pipeline in ci.PIPELINES}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return bake(tmp_path_factory.mktemp("ci-parity"), ci_provider="all")


@pytest.mark.parametrize("pipeline", ci.PIPELINES)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_provider_calls_the_one_list(project, provider, pipeline):
    assert ci.TARGETS[provider](project, pipeline) == pipeline_targets(project)[pipeline]


def test_every_target_is_a_makefile_target(project):
    makefile = (project / "Makefile").read_text()
    defined = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    called = {target for targets in pipeline_targets(project).values() for target in targets}
    assert called <= defined, f"not in the Makefile: {sorted(called - defined)}"


@pytest.mark.parametrize("name", sorted(selected_combinations()))
def test_parity_holds_for_every_answer_set(name, tmp_path):
    answers = selected_combinations()[name]
    project = bake(tmp_path, **answers)
    provider = answer(answers, "ci_provider")
    providers = PROVIDERS if provider == "all" else (provider,)
    expected = pipeline_targets(project)
    for each in providers:
        for pipeline in ci.PIPELINES:
            assert ci.TARGETS[each](project, pipeline) == expected[pipeline], each
    for each in providers:
        assert_secrets_kept_apart(project, each)


# --- secrets: which job or step sees which -----------------------------------------

WRITE_SECRETS = re.compile(r"DVC_WRITE_|REGISTRY_PASSWORD|GITOPS_TOKEN|dvc-remote-write|"
                           r"'registry'|git-push")
COMMENT_TOKEN = re.compile(r"REPO_TOKEN|repo-token")


def github_scopes(project: Path, pipeline: str) -> list:
    """(job, step text) for every step, with the job's permissions."""
    jobs = workflow(project, pipeline)["jobs"]
    return [(name, job, yaml.safe_dump(step)) for name, job in jobs.items()
            for step in job["steps"]]


def assert_secrets_kept_apart(project: Path, provider: str):
    """No pull-request step can write; the comment token sits only where no
    code of the pull request runs; read access to the data only where
    `make pull` runs."""
    if provider == "github":
        for name, job, step in github_scopes(project, "pull-request"):
            assert not WRITE_SECRETS.search(step), (name, step)
            if COMMENT_TOKEN.search(step):
                assert name == "post" and "make " not in step, step
            if "DVC_READ_" in step:
                assert "make pull" in step, step
        post = workflow(project, "pull-request")["jobs"]["post"]
        assert not any("actions/checkout" in step.get("uses", "") for step in post["steps"])
        for name, job, step in github_scopes(project, "main"):
            if WRITE_SECRETS.search(step):
                assert name == "release", step
    elif provider == "gitlab":
        for name, job in ci.gitlab_jobs(project, "pull-request"):
            text = yaml.safe_dump(job)
            assert not WRITE_SECRETS.search(text), name
            if COMMENT_TOKEN.search(text) or "cml" in text:
                assert job["variables"]["GIT_STRATEGY"] == "none", name
                assert "make " not in text, name
    else:
        for _, _, steps in ci.jenkins_stages(project / "Jenkinsfile", "pull-request"):
            for step in steps:
                bound = " ".join(step.credentials)
                assert not WRITE_SECRETS.search(bound), step
                if "REPO_TOKEN" in step.credentials:
                    assert "make " not in step.script and 'cd "$(mktemp -d)"' in step.script
                if step.credentials and "REPO_TOKEN" not in step.credentials:
                    assert step.script == "make pull", step
        fork = ci.jenkins_stages(project / "Jenkinsfile", "pull-request",
                                 {"env": {"CHANGE_FORK": "someone"}})
        assert not [step for _, _, steps in fork for step in steps if step.credentials]


# --- guards, read from the files ---------------------------------------------------

# Ways a CI file could let a failing step pass: each CI's own switch, or shell.
SWALLOWED_FAILURE = re.compile(r"continue-on-error|allow_failure|catchError|unstable\(|"
                               r"\|\|\s*(true\b|:)|set \+e")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_no_step_can_fail_quietly(project, provider):
    """A failing target fails its pipeline on every CI (test_ci_run shows it for
    one failing check); nothing in the files can soften that."""
    files = {"github": [ci.GITHUB_WORKFLOWS[pipeline] for pipeline in ci.PIPELINES],
             "gitlab": [".gitlab-ci.yml"],
             "jenkins": sorted({ci.jenkinsfile(project, pipeline).name
                                for pipeline in ci.PIPELINES})}[provider]
    for name in files:
        for number, line in enumerate((project / name).read_text().splitlines(), 1):
            assert not SWALLOWED_FAILURE.search(line), f"{name}:{number}: {line.strip()}"


def workflow(project: Path, pipeline: str) -> dict:
    return yaml.safe_load((project / ci.GITHUB_WORKFLOWS[pipeline]).read_text())


def test_github_guards(project):
    pull_request, main = workflow(project, "pull-request"), workflow(project, "main")
    # PyYAML reads the key `on` as True.
    assert set(pull_request[True]) == {"pull_request"}  # never pull_request_target
    assert pull_request["concurrency"]["cancel-in-progress"] is True
    assert pull_request["permissions"] == {} and main["permissions"] == {}
    jobs = pull_request["jobs"]
    assert {name: job["permissions"] for name, job in jobs.items()} == {
        "check": {"contents": "read"}, "post": {"pull-requests": "write"},
        "gate": {"contents": "read"}}
    assert "head.repo.full_name == github.repository" in jobs["post"]["if"]
    assert main[True]["push"]["branches"] == ["main"]
    assert main[True]["push"]["paths-ignore"] == ["deploy/overlays/**"]
    assert "[skip ci]" in main["jobs"]["check"]["if"]
    assert main["jobs"]["check"]["permissions"] == {"contents": "read"}
    assert main["jobs"]["release"]["needs"] == "check"
    assert main["concurrency"]["cancel-in-progress"] is False
    for job in [*jobs.values(), *main["jobs"].values()]:
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_github_actions_are_pinned_to_commits(project):
    lines = [line for pipeline in ci.PIPELINES
             for line in (project / ci.GITHUB_WORKFLOWS[pipeline]).read_text().splitlines()
             if "uses:" in line]
    assert lines
    for line in lines:
        # owner/action@<40 hex>  # vX.Y.Z: Dependabot keeps both current.
        assert re.search(r"uses: [\w-]+/[\w-]+@[0-9a-f]{40}  # v\d+\.\d+\.\d+$", line), line


def test_gitlab_guards(project):
    config = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    assert config["default"]["interruptible"] is True
    assert config["workflow"]["auto_cancel"]["on_new_commit"] == "interruptible"
    deploy_commit = {**ci.GITLAB_CONTEXT["main"],
                     "CI_COMMIT_MESSAGE": "deploy: staging runs abc123 [skip ci]"}
    assert not ci.gitlab_rules_pass(config["workflow"]["rules"], deploy_commit)
    assert ci.gitlab_rules_pass(config["workflow"]["rules"], ci.GITLAB_CONTEXT["main"])
    release = dict(ci.gitlab_jobs(project, "main"))["release"]
    assert release["interruptible"] is False and release["resource_group"]
    assert release["environment"]["name"] == "staging"  # where the write variables are scoped
    fork = {**ci.GITLAB_CONTEXT["pull-request"], "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "8"}
    assert not ci.gitlab_rules_pass(config["post"]["rules"], fork)


def test_gitlab_never_sends_its_registry_password_elsewhere(tmp_path):
    for registry, expected in (("quay.io/org", False), ("registry.gitlab.com/org", True)):
        text = (bake(tmp_path / registry.split(".")[0], ci_provider="gitlab",
                     registry=registry) / ".gitlab-ci.yml").read_text()
        assert ("CI_REGISTRY_PASSWORD" in text) is expected, registry


def test_jenkins_guards(project, monkeypatch):
    text = (project / "Jenkinsfile").read_text()
    assert "disableConcurrentBuilds(abortPrevious: true)" in text
    deploy_commit = {**ci.JENKINS_CONTEXT["main"],
                     "changelog": "deploy: staging runs abc123 [skip ci]"}
    monkeypatch.setitem(ci.JENKINS_CONTEXT, "main", deploy_commit)
    targets = ci.jenkins_targets(project, "main")
    assert targets == ["install", "template-check", "lint", "pull", "test", "repro"]  # no release
    fork = ci.jenkins_stages(project / "Jenkinsfile", "pull-request",
                             {"env": {"CHANGE_FORK": "someone"}})
    assert "Post report" not in [path[-1] for path, _, _ in fork]


def test_cml_is_one_pinned_command_everywhere(project):
    """CML, pinned, run with npx (the same install on every CI), with no
    telemetry, and never uploading plots to CML's public asset host."""
    commands = {
        "github": workflow(project, "pull-request")["jobs"]["post"]["steps"][-1]["run"],
        "gitlab": yaml.safe_load((project / ".gitlab-ci.yml").read_text())["post"]["script"][0],
        "jenkins": next(step.script for _, _, steps in
                        ci.jenkins_stages(project / "Jenkinsfile", "pull-request")
                        for step in steps if "REPO_TOKEN" in step.credentials),
    }
    for provider, command in commands.items():
        assert "npx --yes @dvcorg/cml@0.20.6 comment update" in command, provider
        assert "--publish" not in command or "--native" in command, provider
    assert workflow(project, "pull-request")["jobs"]["post"]["env"]["ITERATIVE_DO_NOT_TRACK"] == "1"
    config = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    assert config["post"]["variables"]["ITERATIVE_DO_NOT_TRACK"] == "1"
    assert "ITERATIVE_DO_NOT_TRACK = '1'" in (project / "Jenkinsfile").read_text()


def test_every_ci_installs_the_pinned_uv(project):
    """`make install` is `uv sync --frozen`: each CI sets up the uv version the
    template tests with (tests/requirements.txt), which the Dockerfile uses too."""
    pinned = re.search(r"^uv==(\S+)$", (TEMPLATE_ROOT / "tests" / "requirements.txt").read_text(),
                       re.M)[1]
    github = [step["with"]["version"] for pipeline in ci.PIPELINES
              for job in workflow(project, pipeline)["jobs"].values()
              for step in job["steps"] if step.get("uses", "").startswith("astral-sh/setup-uv@")]
    assert github and set(github) == {pinned}
    gitlab = yaml.safe_load((project / ".gitlab-ci.yml").read_text())["default"]["image"]
    assert gitlab.startswith(f"ghcr.io/astral-sh/uv:{pinned}-python")
    assert f"uv {pinned}" in (project / "Jenkinsfile").read_text()

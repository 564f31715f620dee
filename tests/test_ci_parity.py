"""One pipeline, three CI systems: each CI file, read the way its system
reads it, calls the same Makefile targets in the same order, and carries the
same guards (concurrency, no secrets for pull requests, no release loop)."""
import re
from pathlib import Path

import pytest
import yaml

from combinations import answer, selected_combinations
from conftest import bake
from support import ci_pipelines as ci

# The one list. Change it here and in all three CI files together.
PIPELINE_TARGETS = {
    "pull-request": ["install", "lint", "test", "repro", "report", "report-post"],
    "main": ["install", "lint", "test", "repro", "image", "push", "push-data", "deploy"],
}
PROVIDERS = ("github", "gitlab", "jenkins")
# The name each provider gives the DVC remote's secret, per remote type.
DVC_SECRETS = {
    "github": {"s3": "AWS_SECRET_ACCESS_KEY", "gcs": "GCP_SERVICE_ACCOUNT_KEY",
               "azure": "AZURE_STORAGE_CONNECTION_STRING", "ssh": "DVC_SSH_KEY"},
    # GitLab: CI/CD variables, "Protected" so only the default branch sees them;
    # the file names only those it must turn into files.
    "gitlab": {"s3": "AWS_SECRET_ACCESS_KEY", "gcs": "GCP_SERVICE_ACCOUNT_KEY",
               "azure": "AZURE_STORAGE_CONNECTION_STRING", "ssh": "DVC_SSH_KEY"},
    "jenkins": {"s3": "AWS_SECRET_ACCESS_KEY", "gcs": "GOOGLE_APPLICATION_CREDENTIALS",
                "azure": "AZURE_STORAGE_CONNECTION_STRING", "ssh": "DVC_SSH_KEY_FILE"},
}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return bake(tmp_path_factory.mktemp("ci-parity"), ci_provider="all")


@pytest.mark.parametrize("pipeline", ci.PIPELINES)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_provider_calls_the_one_list(project, provider, pipeline):
    assert ci.TARGETS[provider](project, pipeline) == PIPELINE_TARGETS[pipeline]


def test_every_target_is_a_makefile_target(project):
    makefile = (project / "Makefile").read_text()
    defined = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    called = {target for targets in PIPELINE_TARGETS.values() for target in targets}
    assert called <= defined, f"not in the Makefile: {sorted(called - defined)}"


@pytest.mark.parametrize("name", sorted(selected_combinations()))
def test_parity_holds_for_every_answer_set(name, tmp_path):
    answers = selected_combinations()[name]
    project = bake(tmp_path, **answers)
    provider = answer(answers, "ci_provider")
    providers = PROVIDERS if provider == "all" else (provider,)
    for each in providers:
        for pipeline in ci.PIPELINES:
            assert ci.TARGETS[each](project, pipeline) == PIPELINE_TARGETS[pipeline], each
    remote = answer(answers, "dvc_remote")
    if remote != "local":
        for each in providers:
            assert_remote_secret_only_on_main(project, each, DVC_SECRETS[each][remote])


def assert_remote_secret_only_on_main(project: Path, provider: str, secret: str):
    """The DVC remote's credentials reach the main pipeline, never a pull request."""
    if provider == "github":
        assert secret in (project / ci.GITHUB_WORKFLOWS["main"]).read_text()
        assert secret not in (project / ci.GITHUB_WORKFLOWS["pull-request"]).read_text()
    elif provider == "gitlab":
        assert secret not in yaml.safe_dump(dict(ci.gitlab_jobs(project, "pull-request")))
    else:
        def bound(pipeline):
            return {name for _, _, steps in ci.jenkins_stages(project / "Jenkinsfile", pipeline)
                    for step in steps for name in step.credentials}
        assert secret in bound("main")
        assert secret not in bound("pull-request")


# --- guards, read from the files ---------------------------------------------------

def workflow(project: Path, pipeline: str) -> dict:
    return yaml.safe_load((project / ci.GITHUB_WORKFLOWS[pipeline]).read_text())


def test_github_guards(project):
    pull_request, main = workflow(project, "pull-request"), workflow(project, "main")
    # PyYAML reads the key `on` as True.
    assert set(pull_request[True]) == {"pull_request"}  # never pull_request_target
    assert pull_request["concurrency"]["cancel-in-progress"] is True
    assert pull_request["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "secrets." not in str(pull_request).replace("secrets.GITHUB_TOKEN", "")
    assert main[True]["push"]["branches"] == ["main"]
    assert main[True]["push"]["paths-ignore"] == ["deploy/overlays/**"]
    assert "[skip ci]" in main["jobs"]["release"]["if"]
    assert main["concurrency"]["cancel-in-progress"] is False


def test_github_actions_are_pinned_to_exact_versions(project):
    uses = [step["uses"] for pipeline in ci.PIPELINES
            for job in workflow(project, pipeline)["jobs"].values()
            for step in job["steps"] if "uses" in step]
    assert uses
    for reference in uses:
        action, version = reference.split("@")
        if action == "iterative/setup-cml":
            assert version == "v2"  # the CML version itself is pinned (0.20.6)
        else:
            assert re.fullmatch(r"v\d+\.\d+\.\d+", version), reference


def test_gitlab_guards(project):
    config = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    assert config["default"]["interruptible"] is True
    assert config["workflow"]["auto_cancel"]["on_new_commit"] == "interruptible"
    deploy_commit = {**ci.GITLAB_CONTEXT["main"],
                     "CI_COMMIT_MESSAGE": "deploy: staging runs abc123 [skip ci]"}
    assert not ci.gitlab_rules_pass(config["workflow"]["rules"], deploy_commit)
    assert ci.gitlab_rules_pass(config["workflow"]["rules"], ci.GITLAB_CONTEXT["main"])
    (release,) = [job for name, job in ci.gitlab_jobs(project, "main")]
    assert release["interruptible"] is False


def test_jenkins_guards(project, monkeypatch):
    text = (project / "Jenkinsfile").read_text()
    assert "disableConcurrentBuilds(abortPrevious: true)" in text
    deploy_commit = {**ci.JENKINS_CONTEXT["main"],
                     "changelog": "deploy: staging runs abc123 [skip ci]"}
    monkeypatch.setitem(ci.JENKINS_CONTEXT, "main", deploy_commit)
    targets = ci.jenkins_targets(project, "main")
    assert targets == ["install", "lint", "test", "repro"]  # checks only: no release, no loop


def test_cml_is_pinned_everywhere(project):
    pull_request = workflow(project, "pull-request")
    setup = [step for step in pull_request["jobs"]["checks"]["steps"]
             if step.get("uses", "").startswith("iterative/setup-cml@")]
    assert setup[0]["with"]["version"] == "0.20.6"
    for name in (".gitlab-ci.yml", "Jenkinsfile"):
        assert "@dvcorg/cml@0.20.6" in (project / name).read_text()

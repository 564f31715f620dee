"""Bad answers are rejected by the pre-generation hook: one clear line naming
the option and the rule, a non-zero exit, and no output directory."""
import subprocess
import sys
import tomllib

import pytest
import yaml

from conftest import TEMPLATE_ROOT

BAD_ANSWERS = {
    "slug-uppercase": ({"project_slug": "My-Project"}, "project_slug", "lowercase"),
    "slug-trailing-dash": ({"project_slug": "model-"}, "project_slug", "not ending with '-'"),
    "module-keyword": ({"module_name": "class"}, "module_name", "Python keyword"),
    "module-not-identifier": ({"module_name": "my-model"}, "module_name", "Python identifier"),
    "module-shadows-stdlib": ({"module_name": "json"}, "module_name", "standard-library"),
    "module-shadows-dependency": ({"project_name": "Pandas"}, "module_name",
                                  "shadow a dependency"),
    "name-with-quote": ({"project_name": 'Fraud "v2" model', "project_slug": "fraud"},
                        "project_name", "no quotes, '#'"),
    "namespace-not-dns": ({"k8s_namespace": "Team_ML"}, "k8s_namespace", "DNS-1123"),
    "namespace-too-long": ({"k8s_namespace": "a" * 64}, "k8s_namespace", "at most 63"),
    "image-uppercase": ({"image_name": "Model"}, "image_name", "lowercase"),
    "image-double-separator": ({"image_name": "my--model/"}, "image_name", "separators"),
    "registry-with-scheme": ({"registry": "https://ghcr.io/org"}, "registry",
                             "host[:port][/namespace]"),
    "s3-url-wrong-scheme": ({"dvc_remote": "s3", "dvc_remote_url": "gs://bucket/x"},
                            "dvc_remote_url", "must start with s3://"),
    "gcs-bucket-invalid": ({"dvc_remote": "gcs", "dvc_remote_url": "gs://Bad_Bucket"},
                           "dvc_remote_url", "valid bucket name"),
    "ssh-url-without-path": ({"dvc_remote": "ssh", "dvc_remote_url": "ssh://host"},
                             "dvc_remote_url", "ssh://[user@]host/path"),
    "local-remote-is-url": ({"dvc_remote": "local", "dvc_remote_url": "s3://bucket"},
                            "dvc_remote_url", "directory path"),
    "gitops-url-not-git": ({"gitops_repo_url": "deployments"}, "gitops_repo_url", "git URL"),
    "repo-url-not-git": ({"repo_url": "my-org/model"}, "repo_url", "this repository's git URL"),
    "namespace-too-long-for-overlays": ({"k8s_namespace": "a" * 53}, "k8s_namespace",
                                        "at most 52"),
    "email-invalid": ({"author_email": "nobody"}, "author_email", "name@domain.tld"),
    "name-empty": ({"project_name": " ", "project_slug": "model"}, "project_name",
                   "must not be empty"),
    "description-multiline": ({"description": "one\ntwo"}, "description", "single line"),
}


def bake_cli(tmp_path, answers):
    """Run the cookiecutter command a user would run, with answers on the command line."""
    extra = [f"{key}={value}" for key, value in answers.items()]
    return subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(tmp_path),
         str(TEMPLATE_ROOT), *extra],
        capture_output=True, text=True,
    )


@pytest.mark.parametrize("case", sorted(BAD_ANSWERS))
def test_bad_answer_is_rejected_and_leaves_nothing(tmp_path, case):
    answers, option, rule = BAD_ANSWERS[case]
    result = bake_cli(tmp_path, answers)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR: ")]
    assert len(errors) == 1, result.stderr
    assert f"invalid answer for '{option}'" in errors[0]
    assert rule in errors[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option, value", [
    ("ci_provider", "travis"), ("python_version", "3.9"), ("dvc_remote", "hdfs"),
])
def test_value_outside_a_choice_is_rejected(tmp_path, option, value):
    # cookiecutter itself refuses these before our hook runs; still no directory.
    result = bake_cli(tmp_path, {option: value})
    assert result.returncode != 0
    assert f"{value} provided for choice variable {option}" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_each_bad_answer_has_its_own_message():
    messages = [(option, rule) for _, option, rule in BAD_ANSWERS.values()]
    assert len(set(messages)) == len(messages)


@pytest.mark.parametrize("answers", [
    {"description": 'Quotes "x", a # hash, a: colon and a backslash \\',
     "author_name": 'O\'Brien "the" \\ builder'},
    {"project_name": "Ølfabrikk (R&D) Model", "project_slug": "olfabrikk"},
    {"registry": "localhost:5000", "image_name": "team/models.tumor_v2"},
    {"dvc_remote": "ssh", "dvc_remote_url": "ssh://dvc@10.0.0.5:2222/srv/dvc"},
    {"gitops_repo_url": "git@git.example.com:platform/deploy.git"},
])
def test_unusual_but_valid_answers_bake(tmp_path, answers):
    result = bake_cli(tmp_path, answers)
    assert result.returncode == 0, result.stderr
    [project] = tmp_path.iterdir()
    # Answers land in Python, TOML and YAML: each must still parse, unchanged.
    subprocess.run([sys.executable, "-m", "flake8", "--select=E9,F", "src"], cwd=project,
                   check=True)
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert metadata["description"] == answers.get("description", metadata["description"])
    if "author_name" in answers:
        assert metadata["authors"][0]["name"] == answers["author_name"]
    app_project = yaml.safe_load((project / "deploy/argocd/project.yaml").read_text())
    if "project_name" in answers:
        assert app_project["spec"]["description"] == f"{answers['project_name']} model serving"

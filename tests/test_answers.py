"""Answers: any name a person might type bakes with a valid slug and module;
bad answers are rejected by the pre-generation hook with one clear line naming
the option and the rule, a non-zero exit, and no output directory."""
import ast
import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

from support.project import TEMPLATE_ROOT, bake

BAD_ANSWERS = {
    "slug-uppercase": ({"project_slug": "My-Project"}, "project_slug", "lowercase"),
    "slug-trailing-dash": ({"project_slug": "model-"}, "project_slug",
                           "starting and ending with a letter or digit"),
    "slug-too-long": ({"project_slug": "a" * 53}, "project_slug",
                      "at most 52 characters: the Argo CD Applications"),
    "module-keyword": ({"module_name": "class"}, "module_name", "Python keyword"),
    "module-not-identifier": ({"module_name": "my-model"}, "module_name", "Python identifier"),
    "module-shadows-stdlib": ({"module_name": "json"}, "module_name", "standard-library"),
    "module-shadows-dependency": ({"project_name": "Pandas"}, "module_name",
                                  "shadow a dependency"),
    "name-without-letters": ({"project_name": "!!!"}, "project_slug",
                             "has no letters or digits to make one from; give one"),
    "name-control-character": ({"project_name": "Fraud\x1b[2J model"}, "project_name",
                               "control character U+001B"),
    "module-too-long": ({"module_name": "m" * 31}, "module_name", "at most 30 characters"),
    "name-emoji": ({"project_name": "Rocket \U0001F680"}, "project_name",
                   "emoji or other characters above U+FFFF (U+1F680)"),
    "name-trailing-space": ({"project_name": "Model "}, "project_name",
                            "must not start or end with a space"),
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
    "name-too-long": ({"project_name": "n" * 101, "project_slug": "n"}, "project_name",
                      "at most 100 characters"),
    "name-empty": ({"project_name": " ", "project_slug": "model"}, "project_name",
                   "must not be empty"),
    "description-multiline": ({"description": "one\ntwo"}, "description",
                              "control character U+000A"),
    "description-line-separator": ({"description": "one\u2028two"}, "description",
                                   "control character U+2028"),
    "registry-trailing-newline": ({"registry": "ghcr.io/my-org\n"}, "registry",
                                  "control character U+000A"),
    "repo-url-with-space": ({"repo_url": "https://git.example.com/my org/model.git"},
                            "repo_url", "only URL-safe characters"),
    "local-remote-with-quote": ({"dvc_remote_url": "~/dvc-storage/it's"},
                                "dvc_remote_url", "only URL-safe characters"),
}

# Answers that once baked and did harm (issue 11): a newline wrote a [cache]
# section or a second remote into .dvc/config, a trailing newline passed the
# namespace check and broke the YAML, and `$$(...)` ran a command at `make deploy`.
INJECTIONS = {
    "dvc-url-injects-cache-section": (
        {"dvc_remote_url": "~/dvc-storage/x\n[cache]\n    dir = /tmp/elsewhere"},
        "dvc_remote_url", "control character U+000A"),
    "dvc-url-injects-second-remote": (
        {"dvc_remote": "s3",
         "dvc_remote_url": "s3://bucket/x\n['remote \"other\"']\n    url = s3://other/x"},
        "dvc_remote_url", "control character U+000A"),
    "namespace-trailing-newline": ({"k8s_namespace": "myns\n"}, "k8s_namespace",
                                   "control character U+000A"),
    "gitops-url-runs-command": (
        {"gitops_repo_url": "https://git.example.com/$$(touch pwned).git"},
        "gitops_repo_url", "only URL-safe characters"),
}


# Names a person might type (issue 13), with the slug and module made from them.
HUMAN_NAMES = {
    "Détection de Fraude 2": ("detection-de-fraude-2", "detection_de_fraude_2"),
    "My ML Project (beta)": ("my-ml-project-beta", "my_ml_project_beta"),
    "A": ("a", "a"),
    "3D Segmentation": ("3d-segmentation", "ml_3d_segmentation"),
    "日本語 Model": ("ri-ben-yu-model", "ri_ben_yu_model"),
    'Fraud "v2": model #1 \\ beta': ("fraud-v2-model-1-beta", "fraud_v2_model_1_beta"),
    # 60 characters each: the slug and the module are cut at a word boundary
    # to the longest the hook accepts (52 and 30), or mid-word if one word is longer.
    'Customer "Lifetime Value" Forecasting: Retail & Europe (#22)': (
        "customer-lifetime-value-forecasting-retail-europe-22", "customer_lifetime_value"),
    "Pneumonoultramicroscopicsilicovolcanoconiosis Screening 2024": (
        "pneumonoultramicroscopicsilicovolcanoconiosis", "pneumonoultramicroscopicsilico"),
}


def bake_cli(tmp_path, answers):
    """Run the cookiecutter command a user would run, with answers on the command line."""
    extra = [f"{key}={value}" for key, value in answers.items()]
    return subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(tmp_path),
         str(TEMPLATE_ROOT), *extra],
        capture_output=True, text=True,
    )


@pytest.mark.parametrize("case", sorted(BAD_ANSWERS) + sorted(INJECTIONS))
def test_bad_answer_is_rejected_and_leaves_nothing(tmp_path, capfd, case):
    answers, option, rule = BAD_ANSWERS.get(case) or INJECTIONS[case]
    # cookiecutter's own entry point in this process (a new interpreter per case
    # costs a second); the hook still runs as its own process, as for a user.
    with pytest.raises(FailedHookException):
        cookiecutter(str(TEMPLATE_ROOT), no_input=True, extra_context=answers,
                     output_dir=str(tmp_path))
    stderr = capfd.readouterr().err
    errors = [line for line in stderr.splitlines() if line.startswith("ERROR: ")]
    assert len(errors) == 1, stderr
    assert f"invalid answer for '{option}'" in errors[0]
    assert rule in errors[0]
    assert list(tmp_path.iterdir()) == []


def test_a_person_pressing_enter_at_every_prompt_gets_the_default_project(tmp_path):
    # Each prompt is shown with rich, which reads "[...]" as markup: a prompt
    # text like "host[:port][/namespace]" once crashed the interactive run.
    prompts = json.loads((TEMPLATE_ROOT / "cookiecutter.json").read_text())["__prompts__"]
    result = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--output-dir", str(tmp_path), str(TEMPLATE_ROOT)],
        input="\n" * (len(prompts) + 5), capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    shown = " ".join(result.stdout.split())  # rich wraps long prompts
    assert [text for text in prompts.values() if text not in shown] == []
    assert [path.name for path in tmp_path.iterdir()] == ["tumor-classifier"]


@pytest.mark.parametrize("option, value", [
    ("ci_provider", "travis"), ("python_version", "3.9"), ("dvc_remote", "hdfs"),
])
def test_value_outside_a_choice_is_rejected(tmp_path, option, value):
    # cookiecutter itself refuses these before our hook runs; still no directory.
    result = bake_cli(tmp_path, {option: value})
    assert result.returncode != 0
    assert f"{value} provided for choice variable {option}" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_no_module_name_can_shadow_a_pinned_dependency():
    hook = ast.parse((TEMPLATE_ROOT / "hooks" / "pre_gen_project.py").read_text())
    refused = next(ast.literal_eval(node.value) for node in hook.body
                   if isinstance(node, ast.Assign)
                   and getattr(node.targets[0], "id", "") == "DEPENDENCY_MODULES")
    pyproject = (TEMPLATE_ROOT / "{{cookiecutter.project_slug}}" / "pyproject.toml").read_text()

    def normal(name):
        return re.sub(r"[-_.]+", "-", name).lower()

    pinned = {normal(name) for name in re.findall(r'"([A-Za-z0-9_.-]+)(?:\[\w,]+\])?==', pyproject)}
    # Import names of the pinned distributions installed here (the test venv pins them all).
    imported = {module for module, dists in importlib.metadata.packages_distributions().items()
                if not module.startswith("_") and pinned & {normal(dist) for dist in dists}}
    assert len(imported) > 20 and imported - refused == set()


def test_each_bad_answer_has_its_own_message():
    messages = [(option, rule) for _, option, rule in BAD_ANSWERS.values()]
    assert len(set(messages)) == len(messages)


@pytest.fixture(scope="module")
def human_bakes(tmp_path_factory) -> dict:
    """One project per name in HUMAN_NAMES (each in its own directory)."""
    root = tmp_path_factory.mktemp("names")
    return {name: bake(root / str(number), project_name=name, git_init="no")
            for number, name in enumerate(HUMAN_NAMES)}


@pytest.mark.parametrize("name", sorted(HUMAN_NAMES))
def test_any_human_name_bakes_with_a_valid_slug_and_module(human_bakes, name):
    # Two such names also run the project's lint and tests: tests/combinations.py.
    slug, module = HUMAN_NAMES[name]
    project = human_bakes[name]
    assert project.name == slug
    assert [path.name for path in (project / "src").iterdir()] == [module]
    assert tomllib.loads((project / "pyproject.toml").read_text())["project"]["name"] == slug
    app_project = yaml.safe_load((project / "deploy/argocd/project.yaml").read_text())
    assert app_project["spec"]["description"] == f"{name} model serving"
    assert [destination["namespace"] for destination in app_project["spec"]["destinations"]] \
        == [f"{slug}-staging", f"{slug}-production"]
    base = yaml.safe_load((project / "deploy/base/kustomization.yaml").read_text())
    assert base["images"] == [{"name": slug, "newName": f"ghcr.io/my-org/{slug}",
                               "newTag": "latest"}]


def test_the_code_made_from_every_name_passes_flake8(human_bakes):
    # All of flake8, in one run: quotes must not break the code, and the longest
    # module name must not push a generated line past the limit.
    projects = list(human_bakes.values())
    paths = [str(project / part) for project in projects for part in ("src", "tests")]
    result = subprocess.run([sys.executable, "-m", "flake8", "--config",
                             str(projects[0] / ".flake8"), *paths], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("answers", [
    {"description": 'Quotes "x", a # hash, a: colon and a backslash \\',
     "author_name": 'O\'Brien "the" \\ builder'},
    {"project_name": "Ølfabrikk (R&D) Model", "project_slug": "olfabrikk"},
    {"project_name": "!!!", "project_slug": "exclaim"},
    {"project_slug": "2048-game", "module_name": "game_2048"},
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

"""Answer sets that cover every choice value at least once, without the full
cross product. Set TEMPLATE_TESTS_FAST=1 to bake only the defaults."""
import json
import os
from pathlib import Path

CHOICE_OPTIONS = {
    key: value
    for key, value in json.loads(
        (Path(__file__).resolve().parents[1] / "cookiecutter.json").read_text()
    ).items()
    if isinstance(value, list)
}

COMBINATIONS = {
    "defaults": {},
    "github-s3-wine-logreg": {
        "python_version": "3.12", "ci_provider": "github", "dvc_remote": "s3",
        "dataset": "wine", "model": "logistic_regression",
    },
    "gitlab-gcs-iris": {
        "python_version": "3.13", "ci_provider": "gitlab", "dvc_remote": "gcs",
        "dataset": "iris",
    },
    "jenkins-azure-no-git": {
        "ci_provider": "jenkins", "dvc_remote": "azure", "git_init": "no",
        # A name with accents: its slug and module come from slugify.
        "project_name": "Détection de Fraude 2", "dataset": "wine",
    },
    "github-ssh-config-repo": {
        "python_version": "3.12", "ci_provider": "github", "dvc_remote": "ssh",
        "dataset": "iris", "model": "logistic_regression",
        "gitops_repo_url": "https://git.example.com/platform/deployments.git",
        "production_sync": "auto",
        # 60 characters with quotes and punctuation: the longest slug (52) and module (30).
        "project_name": 'Customer "Lifetime Value" Forecasting: Retail & Europe (#22)',
    },
}


def selected_combinations() -> dict:
    if os.environ.get("TEMPLATE_TESTS_FAST") == "1":
        return {"defaults": COMBINATIONS["defaults"]}
    return COMBINATIONS


def answer(combination: dict, option: str) -> str:
    """The value a bake uses: the override, else the option's first choice."""
    return combination.get(option, CHOICE_OPTIONS[option][0])

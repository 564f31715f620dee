"""The model families params.yaml can choose from, built from their settings."""
from sklearn.base import ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from {{ cookiecutter.module_name }}.params import ParamsError

FAMILIES = {
    "random_forest": RandomForestClassifier,
    "logistic_regression": LogisticRegression,
}


def build_classifier(train_params: dict) -> ClassifierMixin:
    """Build the family named by ``train.model`` with its own hyperparameters."""
    family = train_params["model"]
    if family not in FAMILIES:
        raise ParamsError(
            f"train.model: unknown model family {family!r}; choose one of {', '.join(FAMILIES)}"
        )
    hyperparameters = train_params.get(family) or {}
    try:
        return FAMILIES[family](random_state=train_params["random_state"], **hyperparameters)
    except TypeError as error:
        raise ParamsError(f"train.{family}: {error}") from error

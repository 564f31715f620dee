"""The model families params.yaml can choose from, built from their settings."""
from sklearn.base import ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

FAMILIES = {
    "random_forest": RandomForestClassifier,
    "logistic_regression": LogisticRegression,
}


class ModelConfigError(ValueError):
    """params.yaml asks for a model or setting that does not exist."""


def build_classifier(train_params: dict) -> ClassifierMixin:
    """Build the family named by ``train.model`` with its own hyperparameters."""
    family = train_params["model"]
    if family not in FAMILIES:
        raise ModelConfigError(
            f"train.model: unknown model family {family!r}; choose one of {', '.join(FAMILIES)}"
        )
    hyperparameters = train_params.get(family) or {}
    try:
        return FAMILIES[family](random_state=train_params["random_state"], **hyperparameters)
    except TypeError as error:
        raise ModelConfigError(f"train.{family}: {error}") from error

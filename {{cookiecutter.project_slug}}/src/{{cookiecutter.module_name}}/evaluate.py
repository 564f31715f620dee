"""Stage 4: score the model on the held-out set; write metrics and plot data.

Binary targets use the positive class for ROC and precision-recall; multi-class
targets use micro-averaged one-vs-rest curves and macro-averaged scores.
"""
import json
import sys

import joblib
import numpy as np
import pandas as pd
from sklearn import metrics
from sklearn.preprocessing import label_binarize

from {{ cookiecutter.module_name }} import paths
from {{ cookiecutter.module_name }}.load_data import split_features
from {{ cookiecutter.module_name }}.params import ParamsError, load_params
from {{ cookiecutter.module_name }}.stage import run_stage


def score(labels: np.ndarray, predicted: np.ndarray, probabilities: np.ndarray,
          classes: np.ndarray) -> dict:
    binary = len(classes) == 2
    positive = probabilities[:, 1] if binary else probabilities
    values = {
        "accuracy": metrics.accuracy_score(labels, predicted),
        "balanced_accuracy": metrics.balanced_accuracy_score(labels, predicted),
        "f1_macro": metrics.f1_score(labels, predicted, average="macro"),
        "precision_macro": metrics.precision_score(labels, predicted, average="macro"),
        "recall_macro": metrics.recall_score(labels, predicted, average="macro"),
        "roc_auc": metrics.roc_auc_score(labels, positive, multi_class="ovr", labels=classes),
        "log_loss": metrics.log_loss(labels, probabilities, labels=classes),
    }
    return {name: round(float(value), paths.DECIMALS) for name, value in values.items()}


def curve_inputs(labels, probabilities, classes):
    """Flatten to one binary problem: the positive class, or micro-average."""
    if len(classes) == 2:
        return (labels == classes[1]).astype(int), probabilities[:, 1]
    return label_binarize(labels, classes=classes).ravel(), probabilities.ravel()


def rounded(values) -> list:
    return [round(float(value), paths.DECIMALS) for value in values]


def plot_data(labels, predicted, probabilities, classes) -> dict:
    """Points of each plot in paths.PLOTS, by plot name."""
    truth, scores = curve_inputs(labels, probabilities, classes)
    fpr, tpr, _ = metrics.roc_curve(truth, scores)
    precision, recall, _ = metrics.precision_recall_curve(truth, scores)
    return {
        "roc": [{"fpr": f, "tpr": t} for f, t in zip(rounded(fpr), rounded(tpr))],
        "precision_recall": [
            {"precision": p, "recall": r} for p, r in zip(rounded(precision), rounded(recall))
        ],
        "confusion": [{"actual": str(a), "predicted": str(p)} for a, p in zip(labels, predicted)],
    }


def write_json(path, content) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def main() -> None:
    params = load_params()
    features, labels = split_features(pd.read_csv(paths.TEST_CSV), params["data"]["target"])
    model = joblib.load(paths.MODEL)
    classes = model.classes_
    probabilities = model.predict_proba(features)
    predicted = model.predict(features)
    scores = score(labels.to_numpy(), predicted, probabilities, classes)
    primary = params["evaluate"]["primary_metric"]
    if primary not in scores:
        raise ParamsError(
            f"evaluate.primary_metric: {primary!r} is not one of {', '.join(scores)}"
        )
    write_json(paths.METRICS, scores)
    for name, points in plot_data(labels.to_numpy(), predicted, probabilities, classes).items():
        write_json(paths.PLOTS[name], {name: points})
    print(f"evaluate: {primary} = {scores[primary]}")


if __name__ == "__main__":
    sys.exit(run_stage("evaluate", main))

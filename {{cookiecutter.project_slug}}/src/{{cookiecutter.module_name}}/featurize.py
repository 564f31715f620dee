"""Stage 2: fit the feature transformer on the training set only.

The fitted transformer becomes the first step of the served model, so serving
applies exactly the preprocessing that training saw.
"""
import sys

import joblib
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from {{ cookiecutter.module_name }} import paths
from {{ cookiecutter.module_name }}.data import split_features
from {{ cookiecutter.module_name }}.params import ParamsError, load_params
from {{ cookiecutter.module_name }}.stage import run_stage

SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler}
IMPUTE_STRATEGIES = ("median", "mean", "most_frequent")


def build_featurizer(impute: str, scale: str) -> Pipeline:
    if impute not in IMPUTE_STRATEGIES:
        raise ParamsError(f"featurize.impute: {impute!r} is not one of {IMPUTE_STRATEGIES}")
    if scale not in (*SCALERS, "none"):
        raise ParamsError(f"featurize.scale: {scale!r} is not one of {(*SCALERS, 'none')}")
    steps = [("impute", SimpleImputer(strategy=impute))]
    if scale != "none":
        steps.append(("scale", SCALERS[scale]()))
    # pandas output keeps the feature names through every step.
    return Pipeline(steps).set_output(transform="pandas")


def main() -> None:
    params = load_params()
    target = params["data"]["target"]
    train = pd.read_csv(paths.TRAIN_CSV)
    features, labels = split_features(train, target)
    featurizer = build_featurizer(**params["featurize"])
    transformed = featurizer.fit_transform(features)
    transformed[target] = labels.to_numpy()
    paths.FEATURES_DIR.mkdir(parents=True, exist_ok=True)
    paths.MODELS_DIR.mkdir(parents=True, exist_ok=True)
    transformed.to_csv(paths.TRAIN_FEATURES, index=False)
    joblib.dump(featurizer, paths.FEATURIZER)
    print(f"featurize: {features.shape[1]} features")


if __name__ == "__main__":
    sys.exit(run_stage("featurize", main))

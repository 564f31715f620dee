"""Stage 2: fit the feature transformer (impute, scale) on the training set only.

train applies it and makes it the first step of the served model, so serving
applies exactly the preprocessing that training saw.
"""
import sys

import joblib
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from {{ cookiecutter.module_name }} import paths
from {{ cookiecutter.module_name }}.load_data import split_features
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
    features, _ = split_features(pd.read_csv(paths.TRAIN_CSV), params["data"]["target"])
    featurizer = build_featurizer(**params["featurize"]).fit(features)
    paths.MODELS_DIR.mkdir(parents=True, exist_ok=True)
    joblib.dump(featurizer, paths.FEATURIZER)
    print(f"featurize: {features.shape[1]} features")


if __name__ == "__main__":
    sys.exit(run_stage("featurize", main))

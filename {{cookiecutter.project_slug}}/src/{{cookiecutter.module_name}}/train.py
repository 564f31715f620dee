"""Stage 3: fit the classifier on the featurized training set; save both as one model."""
import sys

import joblib
import pandas as pd
from sklearn.pipeline import Pipeline

from {{ cookiecutter.module_name }} import paths
from {{ cookiecutter.module_name }}.drift import build_profile, write_profile
from {{ cookiecutter.module_name }}.load_data import split_features
from {{ cookiecutter.module_name }}.models import build_classifier
from {{ cookiecutter.module_name }}.params import load_params
from {{ cookiecutter.module_name }}.schema import describe_inputs, write_schema
from {{ cookiecutter.module_name }}.stage import run_stage


def main() -> None:
    params = load_params()
    features, labels = split_features(pd.read_csv(paths.TRAIN_CSV), params["data"]["target"])
    featurizer = joblib.load(paths.FEATURIZER)
    classifier = build_classifier(params["train"])
    classifier.fit(featurizer.transform(features), labels)
    # One artifact holds featurizer + classifier: it takes raw rows as input.
    model = Pipeline([("featurize", featurizer), ("classify", classifier)])
    paths.MODELS_DIR.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, paths.MODEL)
    write_schema(describe_inputs(features, labels), paths.SCHEMA)
    # What serving compares live inputs with to measure drift.
    write_profile(build_profile(features), paths.REFERENCE_PROFILE)
    print(f"train: {params['train']['model']} on {len(labels)} rows")


if __name__ == "__main__":
    sys.exit(run_stage("train", main))

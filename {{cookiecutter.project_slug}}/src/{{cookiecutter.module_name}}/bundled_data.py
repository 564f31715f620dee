"""Stage 0: write a dataset bundled with scikit-learn to data/raw/bundled.csv.

params.yaml's data.bundled names the dataset. The stages after this one read
the CSV exactly as they read your own data; `python -m
{{ cookiecutter.module_name }}.use_data` swaps this stage for your own file.
"""
import re
import sys
from pathlib import Path

import pandas as pd
from sklearn import datasets

from {{ cookiecutter.module_name }} import paths
from {{ cookiecutter.module_name }}.params import ParamsError, load_params
from {{ cookiecutter.module_name }}.stage import run_stage

LOADERS = {
    "breast_cancer": datasets.load_breast_cancer,
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
}


def column_name(name: str) -> str:
    """'mean radius' -> 'mean_radius': names that are easy to use in JSON and code."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def load_bundled(dataset: str) -> pd.DataFrame:
    if dataset not in LOADERS:
        raise ParamsError(f"data.bundled: {dataset!r} is not one of {', '.join(LOADERS)}")
    return LOADERS[dataset](as_frame=True).frame.rename(columns=column_name)


def write_csv(dataset: str, path: Path) -> None:
    frame = load_bundled(dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)


def main() -> None:
    dataset = load_params()["data"]["bundled"]
    write_csv(dataset, paths.BUNDLED_CSV)
    print(f"bundled_data: wrote {dataset} to {paths.BUNDLED_CSV}")


if __name__ == "__main__":
    sys.exit(run_stage("bundled_data", main))

"""Export the scikit-learn bundled dataset to the CSV the pipeline starts from.

The pipeline never imports this module: it reads the CSV, exactly as it would
read your own data. Replace the CSV (and data.raw_path) to train on yours.
"""
import re
import sys
from pathlib import Path

import pandas as pd
from sklearn import datasets

DATASET = "{{ cookiecutter.dataset }}"
DEFAULT_PATH = Path(f"data/raw/{DATASET}.csv")
LOADERS = {
    "breast_cancer": datasets.load_breast_cancer,
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
}


def column_name(name: str) -> str:
    """'mean radius' -> 'mean_radius': names that are easy to use in JSON and code."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def load_bundled(dataset: str = DATASET) -> pd.DataFrame:
    bunch = LOADERS[dataset](as_frame=True)
    frame = bunch.frame.rename(columns=column_name)
    return frame


def export(path: Path = DEFAULT_PATH, dataset: str = DATASET) -> bool:
    """Write the CSV unless it exists; return True when a file was written."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    load_bundled(dataset).to_csv(path, index=False)
    return True


def main() -> int:
    written = export()
    print(f"{'wrote' if written else 'kept existing'} {DEFAULT_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

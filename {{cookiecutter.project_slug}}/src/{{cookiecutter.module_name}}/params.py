"""Read the pipeline's settings from params.yaml, the single place for knobs."""
from pathlib import Path

import yaml

PARAMS_FILE = Path("params.yaml")


def load_params(path: Path = PARAMS_FILE) -> dict:
    with open(path, encoding="utf-8") as params_file:
        return yaml.safe_load(params_file)

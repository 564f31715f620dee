"""Read the pipeline's settings from params.yaml, the single place for knobs."""
from pathlib import Path

import yaml

from {{ cookiecutter.module_name }}.stage import UserError

PARAMS_FILE = Path("params.yaml")


class ParamsError(UserError):
    """params.yaml asks for a setting that does not exist; the message names its key."""


def load_params(path: Path = PARAMS_FILE) -> dict:
    with open(path, encoding="utf-8") as params_file:
        return yaml.safe_load(params_file)

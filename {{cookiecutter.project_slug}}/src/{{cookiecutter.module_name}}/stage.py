"""Run a pipeline stage as a command: clear one-line errors, no traceback."""
import sys
from typing import Callable

from {{ cookiecutter.module_name }}.data import DataError
from {{ cookiecutter.module_name }}.params import ParamsError

# Errors a user can fix by editing their data or params.yaml.
USER_ERRORS = (DataError, ParamsError)


def run_stage(name: str, main: Callable[[], None]) -> int:
    """Call ``main``; turn a user error into a message and exit code 2."""
    try:
        main()
    except USER_ERRORS as error:
        print(f"ERROR in stage '{name}': {error}", file=sys.stderr)
        return 2
    return 0

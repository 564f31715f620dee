"""Run a pipeline stage as a command: clear one-line errors, no traceback."""
import sys
from typing import Callable


class UserError(Exception):
    """An error the user fixes in their data or params.yaml; the message says where."""


def run_stage(name: str, main: Callable[[], None]) -> int:
    """Call ``main``; turn a user error into a message and exit code 2."""
    try:
        main()
    except UserError as error:
        print(f"ERROR in stage '{name}': {error}", file=sys.stderr)
        return 2
    return 0

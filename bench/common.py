"""What the benchmarks share: a baked default project, the environment a
developer has in it, and running or timing a command there."""
import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
# The template tests' helpers (tests/support) serve the benchmarks too.
sys.path.insert(0, str(TEMPLATE / "tests"))
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
                "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}


def baked_project(work: Path) -> tuple:
    """The default project in ``work``, and the environment to run it with."""
    project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(work)))
    env = {**os.environ, **GIT_IDENTITY, "DVC_NO_ANALYTICS": "1",
           "DVC_SITE_CACHE_DIR": str(work / "dvc-site-cache"),
           "PYTHONPATH": str(project / "src"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return project, env


def sh(command, cwd=None, env=None) -> str:
    """Run ``command``; its stdout, or an error with the end of what it printed."""
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} exited {result.returncode} in {cwd}:\n"
                           f"{(result.stdout + result.stderr)[-3000:]}")
    return result.stdout


def timed(command, cwd, env) -> float:
    start = time.perf_counter()
    sh(command, cwd, env)
    return time.perf_counter() - start


def load_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """The options of a wrk benchmark: how long and how often to load."""
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help=f"wrk runs per {what} and case")


def wrk_missing() -> bool:
    if shutil.which("wrk") is None:
        print("wrk not found: run scripts/install-system-deps.sh", file=sys.stderr)
        return True
    return False

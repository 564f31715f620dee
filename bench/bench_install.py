"""`make install` in a fresh clone of a baked project: uv from uv.lock against
pip as the template did before (its baseline), cold and warm cache, side by side.

    .venv/bin/python bench/bench_install.py --runs 3 [--baseline-rev 78c85e9]

ours      the current template: `make install` = `uv sync --frozen` (makes .venv)
baseline  the template at --baseline-rev: `python -m venv .venv`, then its
          `make install` = `pip install -e ".[dev,serve]"` (pip resolves, no lock)
cold      an empty cache for each run; warm: a cache filled by an untimed run.

Both download from PyPI itself: the machine's pip configuration (local wheel
directories, extra indexes) and any UV_INDEX* settings are switched off, so
neither side reads packages from this machine's disk mirrors.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cookiecutter.main import cookiecutter

from common import TEMPLATE, sh


def clean_env() -> dict:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("PIP_FIND_LINKS", "PIP_INDEX", "PIP_EXTRA_INDEX", "UV_",
                                   "VIRTUAL_ENV", "PYTHONPATH"))}
    env["PIP_CONFIG_FILE"] = os.devnull  # no pip.conf: no local wheel mirror
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return env


def baked_origin(template: Path, work: Path, name: str) -> Path:
    project = Path(cookiecutter(str(template), no_input=True, output_dir=str(work / name)))
    if not (project / ".git").is_dir():
        sys.exit(f"{name}: the bake made no git repository")
    return project


def baseline_template(rev: str, work: Path) -> Path:
    """The template at ``rev`` (git archive), as a user would have baked it."""
    target = work / "baseline-template"
    target.mkdir()
    archive = subprocess.run(["git", "archive", rev], cwd=TEMPLATE, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def install_ours(clone: Path, env: dict) -> None:
    sh(["make", "install"], clone, env)


def install_baseline(clone: Path, env: dict) -> None:
    sh([sys.executable, "-m", "venv", ".venv"], clone, env)
    sh(["make", "install", f"PYTHON={clone / '.venv' / 'bin' / 'python'}"], clone, env)


def timed_install(origin: Path, install, env: dict, work: Path, label: str) -> float:
    clone = work / label
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(["git", "clone", "--quiet", str(origin), str(clone)], check=True)
    start = time.perf_counter()
    install(clone, env)
    seconds = time.perf_counter() - start
    shutil.rmtree(clone)
    return seconds


def measure(runs: int, work: Path, rev: str) -> dict:
    env = clean_env()
    sides = {
        "uv (ours)": (baked_origin(TEMPLATE, work, "ours"), install_ours, "UV_CACHE_DIR"),
        "pip (baseline)": (baked_origin(baseline_template(rev, work), work, "baseline"),
                           install_baseline, "PIP_CACHE_DIR"),
    }
    results = {(side, cache): [] for side in sides for cache in ("cold", "warm")}
    for side, (origin, install, cache_variable) in sides.items():  # fill the warm caches
        install_env = {**env, cache_variable: str(work / f"warm-cache-{cache_variable}")}
        timed_install(origin, install, install_env, work, "warm-up")
    for run in range(runs):  # interleaved, so both sides see the same machine load
        for side, (origin, install, cache_variable) in sides.items():
            cold_cache = work / f"cold-cache-{run}-{cache_variable}"
            results[(side, "cold")].append(timed_install(
                origin, install, {**env, cache_variable: str(cold_cache)}, work, "clone"))
            shutil.rmtree(cold_cache)
            warm_cache = work / f"warm-cache-{cache_variable}"
            results[(side, "warm")].append(timed_install(
                origin, install, {**env, cache_variable: str(warm_cache)}, work, "clone"))
    return results


def report(results: dict, runs: int, rev: str) -> None:
    uv_version = sh(["uv", "--version"], TEMPLATE, os.environ).strip()
    # The baseline's pip is the one `python -m venv` seeds (ensurepip's).
    pip_version = sh([sys.executable, "-c", "import ensurepip; print(ensurepip.version())"],
                     TEMPLATE, os.environ).strip()
    print(f"`make install` in a fresh clone, median of {runs} runs, seconds "
          f"({uv_version}; pip {pip_version}; baseline template {rev})")
    print(f"{'cache':<6} {'uv (ours)':>10} {'pip (baseline)':>15} {'pip / uv':>9}"
          "   all runs: uv | pip")
    for cache in ("cold", "warm"):
        ours, baseline = results[("uv (ours)", cache)], results[("pip (baseline)", cache)]
        ratio = statistics.median(baseline) / statistics.median(ours)
        print(f"{cache:<6} {statistics.median(ours):10.1f} {statistics.median(baseline):15.1f} "
              f"{ratio:8.1f}x   {' '.join(f'{s:.1f}' for s in ours)} | "
              f"{' '.join(f'{s:.1f}' for s in baseline)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-rev", default="78c85e9",
                        help="template commit whose `make install` used pip (v0.1.0)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-install-") as work:
        report(measure(args.runs, Path(work), args.baseline_rev), args.runs, args.baseline_rev)


if __name__ == "__main__":
    main()

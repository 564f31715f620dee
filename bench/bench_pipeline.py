"""Bake and pipeline timings of the default project, each beside a baseline.

    make bench            (or: .venv/bin/python bench/bench_pipeline.py --runs 5)

Reports medians of several runs, each with a baseline measured in the same run:
  bake          cookiecutter on this template (hooks, git init)  vs  a one-file template
  first repro   `make repro` on a fresh bake (6 DVC stages)
                vs  the same stage modules run directly with python, no DVC
  no-op repro   `dvc repro` with nothing changed  vs  `dvc version` (DVC's start-up floor)
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cookiecutter.main import cookiecutter

from common import TEMPLATE, sh

STAGES = ["bundled_data", "prepare", "featurize", "train", "evaluate", "export"]
TARGETS = {"bake": 1.0, "first repro": 15.0, "no-op repro": 1.5}


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def minimal_template(root: Path) -> Path:
    template = root / "minimal-template"
    (template / "{{cookiecutter.slug}}").mkdir(parents=True)
    (template / "cookiecutter.json").write_text(json.dumps({"slug": "minimal"}))
    (template / "{{cookiecutter.slug}}" / "README.md").write_text("{{ cookiecutter.slug }}\n")
    return template


def measure(runs: int, work: Path) -> dict:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1",
           "DVC_SITE_CACHE_DIR": str(work / "dvc-site-cache"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    results = {name: {"ours": [], "baseline": []} for name in TARGETS}
    baseline_template = minimal_template(work)
    for run in range(runs):
        out = work / f"run{run}"
        project = out / "tumor-classifier"
        results["bake"]["ours"].append(timed(lambda: cookiecutter(
            str(TEMPLATE), no_input=True, output_dir=str(out))))
        results["bake"]["baseline"].append(timed(lambda: cookiecutter(
            str(baseline_template), no_input=True, output_dir=str(out / "baseline"))))
        env["PYTHONPATH"] = str(project / "src")
        results["first repro"]["ours"].append(
            timed(lambda: sh(["make", "repro"], project, env)))
        direct = out / "direct"
        shutil.copytree(project, direct, ignore=shutil.ignore_patterns(
            ".git", ".dvc", "data", "models", "metrics.json", "plots", "dvc.lock"))
        env_direct = {**env, "PYTHONPATH": str(direct / "src")}
        results["first repro"]["baseline"].append(timed(lambda: [
            sh([sys.executable, "-m", f"tumor_classifier.{stage}"], direct, env_direct)
            for stage in STAGES]))
        results["no-op repro"]["ours"].append(
            timed(lambda: sh([sys.executable, "-m", "dvc", "repro"], project, env)))
        results["no-op repro"]["baseline"].append(
            timed(lambda: sh([sys.executable, "-m", "dvc", "version"], project, env)))
    return results


def report(results: dict, runs: int) -> None:
    print(f"median of {runs} runs, seconds (default project)")
    print(f"{'measure':<13} {'ours':>7} {'baseline':>9} {'ratio':>6} {'target':>7}  ok")
    for name, values in results.items():
        ours = statistics.median(values["ours"])
        baseline = statistics.median(values["baseline"])
        verdict = "yes" if ours < TARGETS[name] else "NO"
        print(f"{name:<13} {ours:7.2f} {baseline:9.2f} {ours / baseline:6.2f} "
              f"{TARGETS[name]:7.1f}  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as work:
        report(measure(args.runs, Path(work)), args.runs)


if __name__ == "__main__":
    main()

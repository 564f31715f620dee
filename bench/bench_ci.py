"""Wall time of the generated project's pull-request pipeline, run for real
from a fresh clone, on a project trained on its own data in an S3 remote
(moto_server on 127.0.0.1), as in tests/test_ci_run.py.

    make node-deps && .venv/bin/python bench/bench_ci.py [--runs 3] [--rows 300000]

Setup (not timed): a synthetic CSV of --rows rows (label column `cultivar`),
`make use-data`, `make repro`, commit, `dvc push`; an origin with that main
and three branches: `feature` (one train param changed), `readme` (only the
README changed). Then, timed, median of --runs fresh checkouts each:

  cold    `feature`, with nothing in the remote's run-cache: every stage runs
  warm    `readme`, after main's pipeline pushed the run-cache and its test
          record (make push-data): every stage is restored, none runs, and
          the suite is not run again (passed_suite.py)
  param   `feature`, same remote: only train, evaluate and export run

Cases run on the Jenkinsfile's steps (no runner start-up); --providers adds
the warm case on act and gitlab-ci-local. Targets: warm <= 25% of cold and
< 30 s; param < cold.
"""
import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

TEMPLATE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TEMPLATE / "tests"))

from cookiecutter.main import cookiecutter  # noqa: E402

from support import ci_pipelines as ci  # noqa: E402
from support import s3  # noqa: E402
from support.ci_pipelines import PROVIDERS  # noqa: E402
from support.ci_run import (add_branch, ci_environment, fast_venv,  # noqa: E402
                            make_origin, run_pull_request)
from support import ci_run  # noqa: E402

# One pipeline at a time here, as on a runner of its own: the project's suite
# runs as generated, on every core (the tests share the cores and run it in one).
ci_run.RUNNER_ENVIRONMENT.clear()

BUCKET = "bench"
SECRETS = {"github": {"DVC_READ_AWS_ACCESS_KEY_ID": "testing",
                      "DVC_READ_AWS_SECRET_ACCESS_KEY": "testing"},
           "jenkins": s3.CREDENTIALS}
SECRETS["gitlab"] = SECRETS["github"]


def synthetic_csv(path: Path, rows: int) -> Path:
    """Three classes, 20 numeric features, deterministic."""
    generator = np.random.default_rng(0)
    label = generator.integers(0, 3, rows)
    features = generator.normal(0, 1, (rows, 20)) + label[:, None] * 0.3
    frame = pd.DataFrame(features, columns=[f"f{i:02d}" for i in range(20)])
    frame["cultivar"] = label
    frame.to_csv(path, index=False)
    return path


def stages_run(log: str) -> int:
    return len(re.findall(r"Running stage '", log))


def push_run_cache(origin: Path, root: Path, venv: Path) -> None:
    """What main's pipeline does for the data and the tests: a fresh clone,
    pull, test, repro, push-data."""
    clone = root / "main-push"
    subprocess.run(["git", "clone", "-q", "-b", "main", str(origin), str(clone)], check=True)
    env = {**ci_environment(venv, root / "main-home"), **s3.CREDENTIALS,
           "AWS_DEFAULT_REGION": "us-east-1", "PYTHONPATH": str(clone / "src")}
    for target in ("install", "pull", "test", "repro", "push-data"):
        subprocess.run(["make", target], cwd=clone, env=env, check=True, capture_output=True)


def timed(provider, origin, branch, root, venv, label, index) -> float:
    run = run_pull_request(provider, origin, branch, root / f"{label}-{provider}-{index}",
                           venv, SECRETS[provider])
    if run.returncode != 0:
        sys.exit(f"{label} on {provider}: pipeline failed\n{run.log[-3000:]}")
    # Each step by the targets it runs (posting and git plumbing call none).
    steps = ", ".join(f"{' '.join(ci.make_targets(script)) or 'other'} {seconds:.1f}"
                      for script, seconds in run.step_seconds)
    print(f"  {label:<6} {provider:<8} run {index + 1}: {run.seconds:6.1f} s, "
          f"{stages_run(run.log)} stages ran" + (f" ({steps})" if steps else ""), flush=True)
    return run.seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--providers", nargs="+", default=["jenkins"], choices=PROVIDERS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ci-") as tmp, \
            s3.s3_server(BUCKET) as endpoint:
        root = Path(tmp)
        venv = fast_venv(root / "venv")
        project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(root / "bake"),
                                    extra_context={"dvc_remote": "s3",
                                                   "dvc_remote_url": f"s3://{BUCKET}/bench"}))
        csv = synthetic_csv(root / "data.csv", args.rows)
        origin = make_origin(project, venv, root / "home", endpoint, s3.CREDENTIALS, csv)
        add_branch(project, origin, "readme", {"README.md": "# Bench\n"}, base="main")
        medians = {}
        cold = [timed("jenkins", origin, "feature", root, venv, "cold", i)
                for i in range(args.runs)]
        medians["cold"] = statistics.median(cold)
        push_run_cache(origin, root, venv)
        for provider in args.providers:
            warm = [timed(provider, origin, "readme", root, venv, "warm", i)
                    for i in range(args.runs)]
            medians[f"warm ({provider})"] = statistics.median(warm)
        param = [timed("jenkins", origin, "feature", root, venv, "param", i)
                 for i in range(args.runs)]
        medians["param"] = statistics.median(param)
    print(f"\n{args.rows} rows, median of {args.runs}:")
    for label, seconds in medians.items():
        print(f"  {label:<18} {seconds:6.1f} s  {seconds / medians['cold']:.2f} of cold")
    warm = medians["warm (jenkins)"] if "warm (jenkins)" in medians else min(
        value for key, value in medians.items() if key.startswith("warm"))
    ok = warm <= 0.25 * medians["cold"] and warm < 30 and medians["param"] < medians["cold"]
    print("targets (warm <= 25% of cold and < 30 s; param < cold):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""`make report` wall time on the default project, beside DVC's own metrics diff.

    .venv/bin/python bench/bench_report.py --runs 7

Setup (not timed): bake the default project, `make repro` and commit on main,
then a feature branch with n_estimators 100 -> 10, `make repro`, commit.
Timed, each run alternating:
  make report    report.md + 3 PNGs (params, every metric, plots) vs main
  baseline       `dvc metrics diff main --all`: DVC's text-only metrics diff
Prints the medians, their ratio and the target (make report < 5 s).
"""
import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from common import baked_project, sh, timed

TARGET_SECONDS = 5.0


def feature_project(work: Path) -> tuple:
    """A baked project with a pipeline run on main and another on branch feature."""
    project, env = baked_project(work)
    sh(["make", "repro"], project, env)
    sh(["git", "add", "-A"], project, env)
    sh(["git", "commit", "-q", "-m", "pipeline run"], project, env)
    sh(["git", "checkout", "-q", "-b", "feature"], project, env)
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("n_estimators: 100", "n_estimators: 10"))
    sh(["make", "repro"], project, env)
    sh(["git", "commit", "-q", "-am", "fewer trees"], project, env)
    return project, env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as work:
        project, env = feature_project(Path(work))
        report, baseline = [], []
        for _ in range(args.runs):
            report.append(timed(["make", "report", "BASE_REV=main"], project, env))
            baseline.append(timed([sys.executable, "-m", "dvc", "metrics", "diff", "main",
                                   "--all"], project, env))
    ours, base = statistics.median(report), statistics.median(baseline)
    print(f"median of {args.runs} runs, seconds (default project, after make repro)")
    print(f"{'measure':<17} {'seconds':>8}")
    print(f"{'make report':<17} {ours:8.2f}   target < {TARGET_SECONDS:.0f} s: "
          f"{'yes' if ours < TARGET_SECONDS else 'NO'}")
    print(f"{'dvc metrics diff':<17} {base:8.2f}   (baseline)")
    print(f"ratio make report / dvc metrics diff: {ours / base:.2f}")


if __name__ == "__main__":
    main()

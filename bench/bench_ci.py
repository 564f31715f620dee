"""Wall time of the generated project's pull-request pipeline on each CI system,
run for real on this machine (act, gitlab-ci-local, the Jenkinsfile's sh steps:
see tests/support/ci_run.py).

    make node-deps && .venv/bin/python bench/bench_ci.py [--runs 3]

Setup (not timed): bake the default project, run its pipeline on main and
commit, then a `feature` branch that changes one param; a virtualenv that sees
.venv's packages, so `make install` only adds the project (deps installed).
Timed, per provider:
  first   a fresh checkout on a fresh runner (empty pip/DVC caches)
  second  the same runner again, nothing changed: the DVC cache (GitHub's and
          GitLab's cache, Jenkins' workspace) lets `dvc repro` run no stage
With --runs N, N fresh runners per provider; medians are printed.
Targets: first < 60 s, second < 20 s.
"""
import argparse
import re
import statistics
import sys
import tempfile
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TEMPLATE / "tests"))

from cookiecutter.main import cookiecutter  # noqa: E402

from support.ci_run import PROVIDERS, fast_venv, make_origin, run_pull_request  # noqa: E402

TARGETS = {"first": 60.0, "second": 20.0}


def stages_run(log: str) -> int:
    """How many DVC stages actually ran their command (not restored from cache)."""
    return len(re.findall(r"Running stage '", log))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--providers", nargs="+", default=list(PROVIDERS), choices=PROVIDERS)
    parser.add_argument("--runs", type=int, default=1, help="fresh runners per provider")
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-ci-") as tmp:
        root = Path(tmp)
        venv = fast_venv(root / "venv")
        project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(root / "bake")))
        origin = make_origin(project, venv, root / "home")
        print(f"{'provider':<10}{'first s':>10}{'second s':>10}{'stages run 1st/2nd':>22}")
        for provider in args.providers:
            firsts, seconds = [], []
            for index in range(args.runs):
                directory = root / f"{provider}-{index}"
                runs = [run_pull_request(provider, origin, "feature", directory, venv)
                        for _ in ("first", "second")]
                for run in runs:
                    if run.returncode != 0:
                        print(f"{provider}: pipeline failed\n{run.log[-3000:]}", file=sys.stderr)
                        return 1
                firsts.append(runs[0].seconds)
                seconds.append(runs[1].seconds)
            first, second = statistics.median(firsts), statistics.median(seconds)
            print(f"{provider:<10}{first:>10.1f}{second:>10.1f}"
                  f"{stages_run(runs[0].log):>12}/{stages_run(runs[1].log)}")
            failed |= first >= TARGETS["first"] or second >= TARGETS["second"]
    print(f"targets: first < {TARGETS['first']:.0f} s, second < {TARGETS['second']:.0f} s: "
          f"{'missed' if failed else 'met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

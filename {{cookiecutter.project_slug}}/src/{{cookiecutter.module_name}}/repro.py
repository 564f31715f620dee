"""`make repro`: run the DVC pipeline (only stages whose inputs changed), then show its metrics.

    python -m {{ cookiecutter.module_name }}.repro --data-unavailable build/data-unavailable.txt

Both DVC commands run in this one process: importing DVC is most of an
unchanged pipeline's second, and CI runs this on every pull request.
When `make pull` wrote that the pipeline's data is unavailable (a pull
request from a fork), nothing runs: the report says why and the gate fails.
"""
import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-unavailable", type=Path,
                        help="written by make pull when the pipeline's data could not be read")
    args = parser.parse_args(argv)
    if args.data_unavailable and args.data_unavailable.exists():
        reason = args.data_unavailable.read_text(encoding="utf-8").strip()
        print(f"repro: skipped: {reason}")
        return 0
    from dvc.cli import main as dvc

    print("dvc repro", flush=True)
    return dvc(["repro"]) or dvc(["metrics", "show"])


if __name__ == "__main__":
    sys.exit(main())

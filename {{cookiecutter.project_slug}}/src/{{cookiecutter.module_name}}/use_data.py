"""Train on your own CSV instead of the bundled dataset, in one command.

    python -m {{ cookiecutter.module_name }}.use_data --csv PATH --target COLUMN
    python -m {{ cookiecutter.module_name }}.use_data --url URL --target COLUMN

--csv checks the file with the pipeline's own rules first and changes nothing
if it breaks one. Then it copies the file to data/raw/ and tracks it with
`dvc add`. --url (s3://, gs://, azure://, ssh://, https:// or a path) tracks a
file that stays in remote storage with `dvc import-url` (`dvc update` fetches
a newer version later); it is checked once downloaded and, if bad, removed
again. Both replace the bundled_data stage, point params.yaml's data section
at the file (comments kept) and print what to commit and push.
"""
import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

from {{ cookiecutter.module_name }} import paths
from {{ cookiecutter.module_name }}.load_data import DataError, load_table
from {{ cookiecutter.module_name }}.params import PARAMS_FILE

BUNDLED_STAGE = "bundled_data"
DVC_FILE = Path("dvc.yaml")
# The command's options name the source of the messages' path and target.
SETTINGS = ("--csv/--url", "--target")
# roc_auc ranks one positive class; with more classes the template uses f1_macro.
BINARY_ONLY_METRICS = {"roc_auc": "f1_macro"}


class UseDataError(Exception):
    """Nothing was changed; the message says why."""


def dvc(*args: str) -> None:
    print("$ dvc " + " ".join(args))
    result = subprocess.run([sys.executable, "-m", "dvc", *args])
    if result.returncode != 0:
        raise UseDataError(f"`dvc {' '.join(args)}` failed (exit code {result.returncode})")


def round_trip() -> YAML:
    yaml = YAML()  # keeps comments, key order and layout
    yaml.width = 4096
    # Write null as `null`, as params.yaml does (ruamel would leave it empty).
    yaml.representer.add_representer(
        type(None), lambda representer, _: representer.represent_scalar(
            "tag:yaml.org,2002:null", "null"))
    return yaml


def has_bundled_stage() -> bool:
    return BUNDLED_STAGE in (round_trip().load(DVC_FILE).get("stages") or {})


def update_params(raw_path: Path, target: str, classes: int) -> list:
    """Point params.yaml at the new data; return one line per change."""
    yaml = round_trip()
    params = yaml.load(PARAMS_FILE)
    data, evaluate = params["data"], params["evaluate"]
    changes = [f"data.raw_path: {raw_path}", f"data.target: {target}"]
    data["raw_path"], data["target"] = str(raw_path), target
    if "bundled" in data:
        del data["bundled"]
        changes.append("data.bundled: removed (no bundled_data stage any more)")
    metric = evaluate["primary_metric"]
    if classes > 2 and metric in BINARY_ONLY_METRICS:
        evaluate["primary_metric"] = BINARY_ONLY_METRICS[metric]
        changes.append(f"evaluate.primary_metric: {metric} -> {evaluate['primary_metric']} "
                       f"({classes} classes)")
    yaml.dump(params, PARAMS_FILE)
    return changes


def min_rows() -> int:
    return round_trip().load(PARAMS_FILE)["data"]["min_rows"]


def import_url(url: str, destination: Path, target: str):
    """`dvc import-url`, then the checks; undo the import if the data breaks one."""
    if destination.exists():
        raise UseDataError(f"{destination} exists already; move it away first")
    destination.parent.mkdir(parents=True, exist_ok=True)
    dvc("import-url", url, str(destination))
    try:
        return load_table(destination, target, min_rows(), SETTINGS)
    except DataError:
        dvc("remove", f"{destination}.dvc")
        destination.unlink(missing_ok=True)
        raise


def use_data(csv: Path | None, url: str | None, target: str) -> Path:
    source_name = Path(url.rstrip("/")).name if url else Path(csv).name
    destination = paths.RAW_DIR / source_name
    if csv:
        frame = load_table(csv, target, min_rows(), SETTINGS)  # before anything is written
    else:
        frame = import_url(url, destination, target)
    if has_bundled_stage():
        dvc("remove", BUNDLED_STAGE)
        if paths.BUNDLED_CSV != destination:
            paths.BUNDLED_CSV.unlink(missing_ok=True)  # DVC's cache keeps a copy
    if csv:
        if Path(csv).resolve() != destination.resolve():
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(csv, destination)
        dvc("add", str(destination))
    for change in update_params(destination, target, frame[target].nunique()):
        print(f"params.yaml: {change}")
    return destination


def next_steps(destination: Path) -> str:
    # DVC writes a .gitignore beside the data unless git ignores the file already.
    ignore = destination.parent / ".gitignore"
    changed = ["params.yaml", "dvc.yaml", "dvc.lock", f"{destination}.dvc",
               *([str(ignore)] if ignore.exists() else []), "metrics.json", "plots"]
    return "\n".join([
        "",
        f"Done: the pipeline now starts from {destination}. Next:",
        "  dvc repro",
        f"  git add {' '.join(changed)}",
        f"  git commit -m 'Train on {destination.name}'",
        f"  dvc push {destination}.dvc   # the data, for CI and your team",
        "  git push   # CI on main runs the pipeline and pushes the models and run-cache",
    ])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--csv", type=Path, help="a CSV file on this machine")
    source.add_argument("--url", help="a CSV in remote storage, for `dvc import-url`")
    parser.add_argument("--target", required=True, help="the label column")
    args = parser.parse_args(argv)
    try:
        destination = use_data(args.csv, args.url, args.target)
    except (DataError, UseDataError) as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2
    print(next_steps(destination))
    return 0


if __name__ == "__main__":
    sys.exit(main())

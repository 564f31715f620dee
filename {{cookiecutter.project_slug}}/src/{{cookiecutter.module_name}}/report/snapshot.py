"""What one side of the comparison holds: its commit, params, metrics and plot data."""
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import yaml

from {{ cookiecutter.module_name }} import paths
from {{ cookiecutter.module_name }}.report import ReportError, git
from {{ cookiecutter.module_name }}.report.compare import flatten
from {{ cookiecutter.module_name }}.params import PARAMS_FILE

PLOT_FILES = paths.PLOTS


@dataclass(frozen=True)
class Snapshot:
    sha: str
    params: dict
    metrics: Optional[dict]  # None: the commit has no metrics.json yet (a first run)
    plots: dict              # plot name -> its JSON data, None when the file is absent
    uncommitted: bool = False


def parse_json(text: str, where: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ReportError(f"{where}: not valid JSON ({error})") from error


def parse_metrics(text: str, where: str) -> dict:
    """The numeric metrics of a metrics file, flattened; an error if there are none."""
    content = parse_json(text, where)
    if not isinstance(content, dict):
        raise ReportError(f"{where}: expected a JSON object of metrics")
    numbers = {
        name: value for name, value in flatten(content).items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }
    if not numbers:
        raise ReportError(f"{where}: no numeric metrics in it")
    return numbers


def parse_params(text: Optional[str], where: str) -> dict:
    if text is None:
        return {}
    try:
        params = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ReportError(f"{where}: not valid YAML ({error})") from error
    return params if isinstance(params, dict) else {}


def load_base(rev: str) -> Snapshot:
    """The base commit, read from git alone (fetched first in a shallow clone)."""
    sha = git.resolve_base(rev)

    def at_base(path: Path) -> tuple:
        return git.show(sha, path.as_posix()), f"{path} at {rev} ({sha[:12]})"

    metrics_text, where = at_base(paths.METRICS)
    metrics = None if metrics_text is None else parse_metrics(metrics_text, where)
    plots = {}
    for name, path in PLOT_FILES.items():
        text, where = at_base(path)
        plots[name] = None if text is None else parse_json(text, where)
    return Snapshot(sha, parse_params(*at_base(PARAMS_FILE)), metrics, plots)


def read_workspace_file(path: Path) -> Optional[str]:
    return path.read_text(encoding="utf-8") if path.exists() else None


def load_workspace() -> Snapshot:
    """The work tree as it is now, after `make repro`, committed or not."""
    metrics_text = read_workspace_file(paths.METRICS)
    if metrics_text is None:
        raise ReportError(f"{paths.METRICS} not found: run `make repro` first")
    plots = {}
    for name, path in PLOT_FILES.items():
        text = read_workspace_file(path)
        plots[name] = None if text is None else parse_json(text, str(path))
    return Snapshot(
        sha=git.head_sha(),
        params=parse_params(read_workspace_file(PARAMS_FILE), str(PARAMS_FILE)),
        metrics=parse_metrics(metrics_text, str(paths.METRICS)),
        plots=plots,
        uncommitted=git.has_uncommitted_changes(),
    )

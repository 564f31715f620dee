"""make report: write report.md and its PNGs; exit 1 if the gate fails, 2 on errors.

    python -m {{ cookiecutter.module_name }}.report --base main --output report.md
"""
import argparse
import sys
from pathlib import Path

from {{ cookiecutter.module_name }}.report import ReportError, images, markdown
from {{ cookiecutter.module_name }}.report.compare import Gate
from {{ cookiecutter.module_name }}.report.snapshot import PLOT_FILES, load_base, load_workspace


def short(sha: str) -> str:
    return sha[:12]


def draw_plots(base_rev: str, base, new, image_dir: Path) -> dict:
    """One PNG per plot; returns {title: path relative to the report file}."""
    uncommitted = " + uncommitted" if new.uncommitted else ""
    workspace_title = f"workspace @ {short(new.sha)}{uncommitted}"
    drawn = {}
    for name, plot_file in PLOT_FILES.items():
        panels = [images.Panel(workspace_title, new.plots[name])]
        if base.metrics is not None:
            panels.insert(0, images.Panel(f"{base_rev} @ {short(base.sha)}", base.plots[name]))
        path = image_dir / f"{name}.png"
        try:
            images.render(name, panels, path)
        except (KeyError, TypeError, ValueError) as error:
            raise ReportError(f"{plot_file}: unexpected plot data ({error!r})") from error
        drawn[images.TITLES[name]] = f"{image_dir.name}/{path.name}"
    return drawn


def build(base_rev: str, output: Path) -> int:
    new = load_workspace()
    base = load_base(base_rev)
    gate = Gate.from_params(new.params)
    if gate.metric not in new.metrics:
        raise ReportError(f"evaluate.primary_metric {gate.metric!r} is not in metrics.json")
    failure = gate.failure(base.metrics, new.metrics)
    # Images sit next to the report: report.md -> report/roc.png
    drawn = draw_plots(base_rev, base, new, output.with_suffix(""))
    output.write_text(markdown.render(base_rev, base, new, gate, failure, drawn), encoding="utf-8")
    print(f"report: wrote {output} and {len(drawn)} images in {output.with_suffix('')}/")
    if failure:
        print(f"report: gate failed: {failure}", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main", help="git revision to compare with")
    parser.add_argument("--output", default="report.md", type=Path, help="Markdown file to write")
    args = parser.parse_args(argv)
    try:
        return build(args.base, args.output)
    except ReportError as error:
        # A stale report must never be posted as if it were this run's.
        args.output.unlink(missing_ok=True)
        print(f"report: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

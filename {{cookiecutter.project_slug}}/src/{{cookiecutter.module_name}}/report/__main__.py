"""make report: write report.md and its PNGs; exit 2 on errors.

    python -m {{ cookiecutter.module_name }}.report --base main --output report.md \\
        --gate-file report/gate-failure.txt

The report is always written when it can be made honestly. A crossed
regression gate, or a pipeline that could not run because its data was
unavailable, is written to the gate file, for `make gate` to fail on after
CI has posted the report.
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


def build(base_rev: str, output: Path, artifact_url: str | None) -> str | None:
    """Write the report; return the gate failure, if any."""
    new = load_workspace()
    base = load_base(base_rev)
    gate = Gate.from_params(new.params)
    if gate.metric not in new.metrics:
        raise ReportError(f"evaluate.primary_metric {gate.metric!r} is not in metrics.json")
    failure = gate.failure(base.metrics, new.metrics)
    # Images sit next to the report: report.md -> report/roc.png
    drawn = draw_plots(base_rev, base, new, output.with_suffix(""))
    text = markdown.render(base_rev, base, new, gate, failure, drawn, artifact_url)
    output.write_text(text, encoding="utf-8")
    print(f"report: wrote {output} and {len(drawn)} images in {output.with_suffix('')}/")
    return failure


def build_not_reproduced(output: Path, reason: str) -> str:
    """The pipeline did not run (its data was unavailable): say so, fail the gate."""
    output.write_text(markdown.not_reproduced(reason), encoding="utf-8")
    print(f"report: wrote {output}: the pipeline was not reproduced")
    return f"the pipeline was not reproduced: {reason}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main", help="git revision to compare with")
    parser.add_argument("--output", default="report.md", type=Path, help="Markdown file to write")
    parser.add_argument("--gate-file", type=Path, help="where to write a gate failure")
    parser.add_argument("--data-unavailable", type=Path,
                        help="written by make pull when the pipeline's data could not be read")
    parser.add_argument("--artifact-url",
                        help="link plots to this CI artifact instead of embedding them")
    args = parser.parse_args(argv)
    if args.gate_file:
        args.gate_file.unlink(missing_ok=True)
    try:
        if args.data_unavailable and args.data_unavailable.exists():
            reason = args.data_unavailable.read_text(encoding="utf-8").strip()
            failure = build_not_reproduced(args.output, reason)
        else:
            failure = build(args.base, args.output, args.artifact_url)
    except ReportError as error:
        # A stale report must never be posted as if it were this run's.
        args.output.unlink(missing_ok=True)
        print(f"report: error: {error}", file=sys.stderr)
        return 2
    if failure:
        print(f"report: gate failed: {failure}", file=sys.stderr)
        if args.gate_file is None:
            return 1
        args.gate_file.parent.mkdir(parents=True, exist_ok=True)
        args.gate_file.write_text(failure + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

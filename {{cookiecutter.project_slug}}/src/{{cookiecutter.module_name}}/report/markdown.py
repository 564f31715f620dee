"""The report as Markdown: what a reviewer reads in the pull-request comment."""
from {{ cookiecutter.module_name }}.report.compare import (
    MISSING, lower_is_better, metric_rows, params_diff, verdict,
)

NONE = "—"


def number(value) -> str:
    """Up to 6 decimals, trailing zeros dropped: 0.95 not 0.950000."""
    if value is None:
        return NONE
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def signed(value) -> str:
    if value is None:
        return NONE
    text = number(value)
    return f"+{text}" if value > 0 and text != "0" else text


def param_value(value) -> str:
    if value is MISSING:
        return NONE
    if value is None or isinstance(value, bool):
        text = {None: "null", True: "true", False: "false"}[value]
    else:
        text = str(value)
    return "`" + text.replace("|", "\\|") + "`"


def header(base_rev: str, base, new) -> list:
    uncommitted = " plus uncommitted changes" if new.uncommitted else ""
    return [
        f"# Model report: workspace vs `{base_rev}`",
        "",
        f"Base `{base_rev}` at `{base.sha}`; workspace at `{new.sha}`{uncommitted}.",
        "",
    ]


def primary_line(base_rev: str, metric: str, base, new) -> str:
    value = new.metrics[metric]
    if base.metrics is None:
        return (f"**First run:** `{base_rev}` has no metrics.json yet, so there is nothing "
                f"to compare with. `{metric}` is {number(value)}; current metrics below.")
    if metric not in base.metrics:
        return f"**`{metric}` is new** (not in `{base_rev}`'s metrics): {number(value)}."
    before = base.metrics[metric]
    direction = "lower" if lower_is_better(metric) else "higher"
    outcome = verdict(metric, before, value)
    if outcome == "unchanged":
        return f"**`{metric}` unchanged** at {number(value)} ({direction} is better)."
    change = abs(value - before)
    return (f"**`{metric}` {outcome} by {number(change)}**: {number(before)} → {number(value)} "
            f"({signed(value - before)}; {direction} is better).")


def params_section(base_rev: str, base, new) -> list:
    lines = ["## Params", ""]
    changes = params_diff(base.params, new.params)
    if not changes:
        return lines + [f"No param differs from `{base_rev}`.", ""]
    lines += [f"| param | {base_rev} | workspace |", "| --- | --- | --- |"]
    lines += [f"| `{c.name}` | {param_value(c.base)} | {param_value(c.new)} |" for c in changes]
    return lines + [""]


def metrics_section(base_rev: str, metric: str, base, new) -> list:
    lines = ["## Metrics", ""]
    if base.metrics is None:
        lines += ["| metric | workspace |", "| --- | --- |"]
        lines += [f"| {bold_if(name, metric)} | {number(value)} |"
                  for name, value in sorted(new.metrics.items())]
        return lines + [""]
    lines += [f"| metric | {base_rev} | workspace | change | |", "| --- | --- | --- | --- | --- |"]
    for row in metric_rows(base.metrics, new.metrics):
        lines.append(f"| {bold_if(row.name, metric)} | {number(row.base)} | {number(row.new)} "
                     f"| {signed(row.delta)} | {row.verdict} |")
    return lines + [""]


def bold_if(name: str, primary: str) -> str:
    return f"**{name}** (primary)" if name == primary else name


def plots_section(images: dict, base_rev: str, first_run: bool, artifact_url=None) -> list:
    sides = "workspace only: the base has no plots yet" if first_run else \
        f"left `{base_rev}`, right workspace"
    if artifact_url:
        # The comment cannot carry the images without uploading them to a
        # third party: they stay in the CI run's artifact.
        names = ", ".join(f"`{path}`" for path in images.values())
        return ["## Plots", "", f"{', '.join(images)}: {names} in the "
                f"[CI artifact]({artifact_url}) (each image shows {sides}).", ""]
    lines = ["## Plots", "", f"Each image shows {sides}.", ""]
    for title, relative_path in images.items():
        lines += [f"### {title}", "", f"![{title}]({relative_path})", ""]
    return lines


def gate_line(gate, failure) -> list:
    if gate.max_drop is None:
        return []
    if failure:
        return [f"**Gate FAILED:** {failure}.", ""]
    return [f"Gate passed: `{gate.metric}` may get worse by at most {number(gate.max_drop)} "
            "(report.max_drop).", ""]


def render(base_rev: str, base, new, gate, failure, images: dict, artifact_url=None) -> str:
    metric = gate.metric
    lines = header(base_rev, base, new)
    lines += [primary_line(base_rev, metric, base, new), ""]
    lines += gate_line(gate, failure)
    lines += params_section(base_rev, base, new)
    lines += metrics_section(base_rev, metric, base, new)
    lines += plots_section(images, base_rev, base.metrics is None, artifact_url)
    return "\n".join(lines).rstrip("\n") + "\n"


def not_reproduced(reason: str) -> str:
    """The report when the pipeline could not run: never metrics from other data."""
    return "\n".join([
        "# Model report: pipeline not reproduced", "",
        f"**Pipeline not reproduced.** {reason}", "",
        "Lint and tests ran and passed; no params, metrics or plots are reported, "
        "because they could only come from data other than this project's.", "",
    ])

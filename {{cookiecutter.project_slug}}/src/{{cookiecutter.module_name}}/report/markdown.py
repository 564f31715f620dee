"""The report as Markdown: what a reviewer reads in the pull-request comment.

Param names and values, metric names and the base revision come from the
pull request itself, and the comment is posted with a token: shown as typed,
none of them may format, link, embed an image or @mention anyone. So each
sits in a code span, where Markdown, HTML, links and mentions are inert; the
one message made from them outside a code span is escaped character by
character (plain()).
"""
import re
import unicodedata
from urllib.parse import quote

from {{ cookiecutter.module_name }}.paths import DECIMALS
from {{ cookiecutter.module_name }}.report.compare import (
    MISSING, lower_is_better, metric_rows, params_diff, verdict,
)

NONE = "—"
# After rendering, GitHub and GitLab turn @name, scheme://... and www. in any
# text outside code into mentions and links; an invisible word joiner inside
# each of these triggers stops that.
WORD_JOINER = "\u2060"
LINK_TRIGGERS = re.compile(r"@|:(?=//)|(?i:www)(?=\.)")
ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def visible(text: str) -> str:
    """Control and format characters (newlines, escapes, bidi overrides) as \\n or \\uXXXX."""
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return "".join(
        named.get(char, f"\\u{ord(char):04x}")
        if unicodedata.category(char)[0] == "C" or unicodedata.category(char) in ("Zl", "Zp")
        else char
        for char in text
    )


def code(text: str, in_table: bool = False) -> str:
    """``text`` as one code span, shown exactly, whatever backticks it holds."""
    text = visible(text) or '""'
    if in_table:
        text = text.replace("|", "\\|")  # a table splits cells on '|' even inside code
    # The fence must be a backtick run that the text does not contain.
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    # One space each side is dropped when rendered; it keeps a leading or
    # trailing backtick (or space) apart from the fence.
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def plain(text: str) -> str:
    """Text outside a code span: every ASCII punctuation mark escaped, so nothing
    in it becomes emphasis, a link, an image, HTML or a table cell, and no
    mention or address is linked."""
    broken = LINK_TRIGGERS.sub(lambda match: match.group() + WORD_JOINER, visible(text))
    return ASCII_PUNCTUATION.sub(r"\\\1", broken)


def number(value) -> str:
    """Up to DECIMALS decimals, trailing zeros dropped: 0.95 not 0.950000."""
    if value is None:
        return NONE
    text = f"{value:.{DECIMALS}f}".rstrip("0").rstrip(".")
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
    return code(text, in_table=True)


def header(base_rev: str, base, new) -> list:
    uncommitted = " plus uncommitted changes" if new.uncommitted else ""
    return [
        f"# Model report: workspace vs {code(base_rev)}",
        "",
        f"Base {code(base_rev)} at `{base.sha}`; workspace at `{new.sha}`{uncommitted}.",
        "",
    ]


def primary_line(base_rev: str, metric: str, base, new) -> str:
    value, name = new.metrics[metric], code(metric)
    if base.metrics is None:
        return (f"**First run:** {code(base_rev)} has no metrics.json yet, so there is nothing "
                f"to compare with. {name} is {number(value)}; current metrics below.")
    if metric not in base.metrics:
        return f"**{name} is new** (not in the metrics of {code(base_rev)}): {number(value)}."
    before = base.metrics[metric]
    direction = "lower" if lower_is_better(metric) else "higher"
    outcome = verdict(metric, before, value)
    if outcome == "unchanged":
        return f"**{name} unchanged** at {number(value)} ({direction} is better)."
    change = abs(value - before)
    return (f"**{name} {outcome} by {number(change)}**: {number(before)} → {number(value)} "
            f"({signed(value - before)}; {direction} is better).")


def params_section(base_rev: str, base, new) -> list:
    lines = ["## Params", ""]
    changes = params_diff(base.params, new.params)
    if not changes:
        return lines + [f"No param differs from {code(base_rev)}.", ""]
    lines += [f"| param | {code(base_rev, in_table=True)} | workspace |", "| --- | --- | --- |"]
    lines += [f"| {code(c.name, in_table=True)} | {param_value(c.base)} | {param_value(c.new)} |"
              for c in changes]
    return lines + [""]


def metrics_section(base_rev: str, metric: str, base, new) -> list:
    lines = ["## Metrics", ""]
    if base.metrics is None:
        lines += ["| metric | workspace |", "| --- | --- |"]
        lines += [f"| {metric_cell(name, metric)} | {number(value)} |"
                  for name, value in sorted(new.metrics.items())]
        return lines + [""]
    lines += [f"| metric | {code(base_rev, in_table=True)} | workspace | change | |",
              "| --- | --- | --- | --- | --- |"]
    for row in metric_rows(base.metrics, new.metrics):
        lines.append(f"| {metric_cell(row.name, metric)} | {number(row.base)} "
                     f"| {number(row.new)} | {signed(row.delta)} | {row.verdict} |")
    return lines + [""]


def metric_cell(name: str, primary: str) -> str:
    cell = code(name, in_table=True)
    return f"**{cell}** (primary)" if name == primary else cell


def plots_section(images: dict, base_rev: str, first_run: bool, artifact_url=None) -> list:
    sides = "workspace only: the base has no plots yet" if first_run else \
        f"left {code(base_rev)}, right workspace"
    if artifact_url:
        # The comment cannot carry the images without uploading them to a
        # third party: they stay in the CI run's artifact.
        names = ", ".join(code(path) for path in images.values())
        return ["## Plots", "", f"{', '.join(images)}: {names} in the "
                f"[CI artifact]({artifact_url}) (each image shows {sides}).", ""]
    lines = ["## Plots", "", f"Each image shows {sides}.", ""]
    for title, relative_path in images.items():
        # Percent-encoded: a space or parenthesis in the path would end the link.
        lines += [f"### {title}", "", f"![{title}]({quote(relative_path)})", ""]
    return lines


def gate_line(gate, failure) -> list:
    if gate.max_drop is None:
        return []
    if failure:
        return [f"**Gate FAILED:** {plain(failure)}.", ""]
    return [f"Gate passed: {code(gate.metric)} may get worse by at most "
            f"{number(gate.max_drop)} (report.max_drop).", ""]


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
        f"**Pipeline not reproduced.** {plain(reason)}", "",
        "Lint and tests ran and passed; no params, metrics or plots are reported, "
        "because they could only come from data other than this project's.", "",
    ])

"""Draw the plots as PNG files, base and workspace side by side, fully offline.

matplotlib's Agg renderer needs no browser and no network (DVC's HTML plots
load vega from a CDN). The Figure API is used directly, without pyplot, so
nothing depends on a display or on global state.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from matplotlib.figure import Figure

PANEL_SIZE = (5, 4.2)  # inches per side; at 100 dpi a 500 x 420 px panel


@dataclass(frozen=True)
class Panel:
    title: str          # e.g. "base main @ 1a2b3c4d"
    data: Optional[dict]  # the plot file's JSON; None draws an empty panel saying so


@dataclass(frozen=True)
class Curve:
    key: str   # top-level key of the plot file, a list of points
    x: str
    y: str
    diagonal: bool  # ROC: the chance line


CURVES = {
    "roc": Curve("roc", "fpr", "tpr", diagonal=True),
    "precision_recall": Curve("precision_recall", "recall", "precision", diagonal=False),
}
TITLES = {
    "roc": "ROC curve",
    "precision_recall": "Precision-recall curve",
    "confusion": "Confusion matrix",
}


def draw_curve(axes, curve: Curve, data: dict) -> None:
    points = data[curve.key]
    axes.plot([p[curve.x] for p in points], [p[curve.y] for p in points], linewidth=2)
    if curve.diagonal:
        axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    axes.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), xlabel=curve.x, ylabel=curve.y)
    axes.grid(alpha=0.3)


def class_order(labels) -> list:
    """Numeric labels in numeric order ("2" before "10"), others alphabetically."""
    return sorted(labels, key=lambda label: (not label.lstrip("-").isdigit(),
                                             int(label) if label.lstrip("-").isdigit() else 0,
                                             label))


def draw_confusion(axes, data: dict, classes: list) -> None:
    index = {label: position for position, label in enumerate(classes)}
    counts = [[0] * len(classes) for _ in classes]
    for pair in data["confusion"]:
        counts[index[str(pair["actual"])]][index[str(pair["predicted"])]] += 1
    axes.imshow(counts, cmap="Blues")
    highest = max(max(row) for row in counts) or 1
    for row, values in enumerate(counts):
        for column, count in enumerate(values):
            colour = "white" if count > highest / 2 else "black"
            axes.text(column, row, str(count), ha="center", va="center", color=colour)
    ticks = range(len(classes))
    axes.set(xticks=ticks, yticks=ticks, xticklabels=classes, yticklabels=classes,
             xlabel="predicted", ylabel="actual")


def confusion_classes(panels: list) -> list:
    """The same class axes on both panels, so the matrices compare cell by cell."""
    labels = {str(pair[side]) for panel in panels if panel.data
              for pair in panel.data["confusion"] for side in ("actual", "predicted")}
    return class_order(labels)


def render(name: str, panels: list, path: Path) -> Path:
    """One PNG for plot ``name`` with one panel per snapshot, left to right."""
    figure = Figure(figsize=(PANEL_SIZE[0] * len(panels), PANEL_SIZE[1]), layout="constrained")
    figure.suptitle(TITLES[name])
    classes = confusion_classes(panels) if name == "confusion" else None
    for position, panel in enumerate(panels, start=1):
        axes = figure.add_subplot(1, len(panels), position)
        axes.set_title(panel.title, fontsize=10)
        if panel.data is None:
            axes.text(0.5, 0.5, "no plot data", ha="center", va="center")
            axes.set_axis_off()
        elif name == "confusion":
            draw_confusion(axes, panel.data, classes)
        else:
            draw_curve(axes, CURVES[name], panel.data)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path

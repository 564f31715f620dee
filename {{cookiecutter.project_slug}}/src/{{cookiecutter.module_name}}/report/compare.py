"""Pure comparisons of two snapshots: params diff, metric deltas, the gate."""
from dataclasses import dataclass
from typing import Optional

from {{ cookiecutter.module_name }}.paths import DECIMALS
from {{ cookiecutter.module_name }}.report import ReportError

# Metrics where a smaller value is the better model; every other metric is a score.
LOWER_IS_BETTER_WORDS = ("loss", "error")


def flatten(tree: dict, prefix: str = "") -> dict:
    """{"train": {"model": "rf"}} -> {"train.model": "rf"}: one row per knob."""
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


MISSING = object()  # a param that one side does not have


@dataclass(frozen=True)
class ParamChange:
    name: str
    base: object  # MISSING when the param is new
    new: object   # MISSING when the param was removed


def params_diff(base: dict, new: dict) -> list:
    """Params added, removed or changed, sorted by dotted name."""
    base_flat, new_flat = flatten(base), flatten(new)
    changes = []
    for name in sorted(set(base_flat) | set(new_flat)):
        before, after = base_flat.get(name, MISSING), new_flat.get(name, MISSING)
        if before != after:
            changes.append(ParamChange(name, before, after))
    return changes


def lower_is_better(metric: str) -> bool:
    return any(word in metric.lower() for word in LOWER_IS_BETTER_WORDS)


def delta(base: float, new: float) -> float:
    return round(new - base, DECIMALS)


def worsening(metric: str, base: float, new: float) -> float:
    """How much worse ``new`` is than ``base`` (negative: it got better)."""
    change = delta(base, new)
    return change if lower_is_better(metric) else -change


def verdict(metric: str, base: float, new: float) -> str:
    """improved, regressed or unchanged, in the metric's own direction."""
    worse_by = worsening(metric, base, new)
    if worse_by > 0:
        return "regressed"
    if worse_by < 0:
        return "improved"
    return "unchanged"


@dataclass(frozen=True)
class MetricRow:
    name: str
    base: Optional[float]  # None: the base has no such metric
    new: Optional[float]   # None: the workspace no longer has it

    @property
    def delta(self) -> Optional[float]:
        if self.base is None or self.new is None:
            return None
        return delta(self.base, self.new)

    @property
    def verdict(self) -> str:
        if self.base is None or self.new is None:
            return "new" if self.base is None else "removed"
        return verdict(self.name, self.base, self.new)


def metric_rows(base: dict, new: dict) -> list:
    """Every metric of either side, changed or not, sorted by name."""
    return [MetricRow(name, base.get(name), new.get(name)) for name in sorted(set(base) | set(new))]


@dataclass(frozen=True)
class Gate:
    """Fail the report when ``metric`` gets worse than the base by more than ``max_drop``."""
    metric: str
    max_drop: Optional[float]  # None: the gate is off

    @classmethod
    def from_params(cls, params: dict) -> "Gate":
        metric = params.get("evaluate", {}).get("primary_metric")
        max_drop = (params.get("report") or {}).get("max_drop")
        if max_drop is not None and (
            isinstance(max_drop, bool) or not isinstance(max_drop, (int, float)) or max_drop < 0
        ):
            raise ReportError(
                f"params.yaml report.max_drop: expected null or a number >= 0, got {max_drop!r}"
            )
        return cls(metric, max_drop)

    def failure(self, base: Optional[dict], new: dict) -> Optional[str]:
        """A message when the gate is on and crossed; None otherwise."""
        if self.max_drop is None or not base or self.metric not in base:
            return None
        worse_by = worsening(self.metric, base[self.metric], new[self.metric])
        if worse_by <= self.max_drop:
            return None
        return (f"{self.metric} got worse by {worse_by:g} "
                f"({base[self.metric]:g} -> {new[self.metric]:g}), more than "
                f"report.max_drop = {self.max_drop:g}")

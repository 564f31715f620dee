"""Input drift: Population Stability Index (PSI) of recent requests against
the training data, per feature.

Why PSI: it compares fixed bins, so the serving side keeps only a bounded
window of recent rows (memory fixed whatever the traffic), a request just
copies its rows in, and the statistic is computed at scrape time with one
binary search per value. Its usual reading is well known: below 0.1 stable,
0.1-0.25 moderate shift, above 0.25 a significant shift.

numpy only: the serving image carries neither pandas nor scikit-learn.
"""
import json
from pathlib import Path

import numpy as np

# Floor for empty bins, so log(0) never happens and one empty bin cannot
# dominate the index.
MIN_PROPORTION = 1e-4


def bin_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """Interior edges at the training quantiles (fewer for discrete features)."""
    quantiles = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])
    return np.unique(quantiles)


def assign_bins(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Bin number of each value: 0 .. len(edges); outside values go to the end bins."""
    return np.searchsorted(edges, values, side="right")


def proportions(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    shares = counts / total if total else np.zeros_like(counts, dtype=float)
    return np.clip(shares, MIN_PROPORTION, None)


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population Stability Index of two proportion vectors over the same bins."""
    expected, actual = np.asarray(expected, float), np.asarray(actual, float)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def build_profile(features, bins: int = 10) -> dict:
    """Reference profile of training features: bin edges and shares per feature.

    ``features`` maps feature name to values (a pandas DataFrame works).
    """
    profile = {"statistic": "psi", "bins": bins, "features": {}}
    for name, column in features.items():
        values = np.asarray(column, dtype=float)
        values = values[~np.isnan(values)]
        edges = bin_edges(values, bins)
        counts = np.bincount(assign_bins(edges, values), minlength=len(edges) + 1)
        profile["features"][str(name)] = {
            "edges": [float(edge) for edge in edges],
            "proportions": [float(share) for share in proportions(counts)],
        }
    return profile


def write_profile(profile: dict, path: Path) -> None:
    path.write_text(json.dumps(profile, indent=2) + "\n", encoding="utf-8")


def read_profile(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


class DriftWindow:
    """The last ``size`` rows seen, for PSI against the training profile.

    Adding rows only copies them into a ring buffer; binning and counting
    wait for psi_by_feature(), which
    Prometheus calls once per scrape. Memory is fixed at ``size`` x features
    floats, however many requests arrive; adding rows evicts the oldest ones.
    """

    def __init__(self, profile: dict, feature_names: list, size: int = 1000):
        self.names = list(feature_names)
        specs = [profile["features"][name] for name in self.names]
        self.edges = [np.asarray(spec["edges"]) for spec in specs]
        self.expected = [np.asarray(spec["proportions"]) for spec in specs]
        self.size = size
        self.values = np.full((size, len(self.names)), np.nan)
        self.filled = 0
        self.next_slot = 0

    def add(self, rows: np.ndarray) -> None:
        """Add a (rows x features) array in feature order; NaN means missing."""
        rows = np.asarray(rows, dtype=float)[-self.size:]
        count = len(rows)
        start, end = self.next_slot, self.next_slot + count
        if end <= self.size:
            self.values[start:end] = rows
        else:  # wrap around the end of the buffer
            self.values[start:] = rows[:self.size - start]
            self.values[:end - self.size] = rows[self.size - start:]
        self.next_slot = end % self.size
        self.filled = min(self.size, self.filled + count)

    @property
    def counts(self) -> list:
        """Per feature, how many window values fall in each bin (NaN left out)."""
        window = self.values[:self.filled]
        counts = []
        for index, edges in enumerate(self.edges):
            column = window[:, index]
            column = column[~np.isnan(column)]
            counts.append(np.bincount(assign_bins(edges, column), minlength=len(edges) + 1))
        return counts

    def psi_by_feature(self) -> dict:
        """PSI per feature over the window; 0.0 for a feature with no values yet."""
        return {
            name: psi(expected, proportions(counts)) if counts.sum() else 0.0
            for name, expected, counts in zip(self.names, self.expected, self.counts)
        }

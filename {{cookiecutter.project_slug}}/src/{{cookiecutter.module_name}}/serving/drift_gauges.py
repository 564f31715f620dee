"""Input drift of live traffic, exported to Prometheus.

Each valid request's rows are copied into a fixed-size window
({{ cookiecutter.module_name }}.drift.DriftWindow); the PSI of every
feature against the training profile is computed only when Prometheus scrapes
/metrics, so a request pays for one array copy and nothing more. One request
fills at most a tenth of the window (an even sample of its rows), so no single
client can replace the window and so raise or hide a drift alert alone.
"""
import logging
import threading

import numpy as np
from prometheus_client.core import GaugeMetricFamily

from {{ cookiecutter.module_name }}.drift import DriftWindow, read_profile

logger = logging.getLogger(__name__)

MAX_REQUEST_SHARE = 0.1


class DriftCollector:
    """A Prometheus collector: model_feature_drift_psi{feature} and
    model_drift_window_rows, read from the window at scrape time."""

    def __init__(self, window: DriftWindow):
        self.window = window
        self.max_request_rows = max(1, int(window.size * MAX_REQUEST_SHARE))
        # Requests and scrapes share the event loop today; the lock keeps the
        # window consistent should a scrape ever come from another thread.
        self.lock = threading.Lock()

    def add(self, requests: list, stacked: np.ndarray) -> None:
        """Add one model run's rows: ``requests`` (an array each) and ``stacked``
        (the same rows in one array), with each request's share capped."""
        if max(map(len, requests)) > self.max_request_rows:
            stacked = np.concatenate([self.share_of(rows) for rows in requests])
        with self.lock:
            self.window.add(stacked)

    def share_of(self, rows: np.ndarray) -> np.ndarray:
        if len(rows) <= self.max_request_rows:
            return rows
        step = -(-len(rows) // self.max_request_rows)  # ceiling division
        return rows[::step]

    def collect(self):
        with self.lock:
            rows = self.window.filled
            drift = self.window.psi_by_feature()
        psi = GaugeMetricFamily(
            "model_feature_drift_psi",
            "Population Stability Index of the last model_drift_window_rows inputs "
            "against training, by feature (above 0.25: significant shift)",
            labels=["feature"])
        for feature, value in drift.items():
            psi.add_metric([feature], value)
        yield psi
        yield GaugeMetricFamily(
            "model_drift_window_rows", "Recent input rows the drift statistic is computed over",
            value=rows)


def load_drift_collector(settings, feature_names: list):
    """The collector, or None when tracking is off or no usable profile exists."""
    if not settings.drift_tracking:
        logger.info("drift tracking off (DRIFT_TRACKING=false)")
        return None
    path = settings.reference_profile_path
    if not path.is_file():
        logger.warning("%s not found: drift metrics not exported (run `make repro`)", path)
        return None
    try:
        window = DriftWindow(read_profile(path), feature_names, settings.drift_window_rows)
    except (OSError, ValueError, KeyError) as error:
        logger.warning("%s unusable, drift metrics not exported: %s", path, error)
        return None
    logger.info("drift tracking on: PSI over the last %d rows", settings.drift_window_rows)
    return DriftCollector(window)

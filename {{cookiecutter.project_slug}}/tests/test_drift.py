"""Drift: PSI near zero for the training distribution, high for a shifted one,
and a window whose memory does not grow with traffic."""
import numpy as np
import pytest

from {{ cookiecutter.module_name }}.drift import DriftWindow, build_profile, psi

NAMES = ["signal", "count"]


@pytest.fixture
def training():
    generator = np.random.default_rng(0)
    return {"signal": generator.normal(0, 1, 5000), "count": generator.integers(0, 5, 5000)}


def rows_like(generator, n, shift=0.0):
    return np.column_stack([generator.normal(shift, 1, n), generator.integers(0, 5, n)])


def test_psi_of_identical_proportions_is_zero():
    assert psi([0.25, 0.25, 0.5], [0.25, 0.25, 0.5]) == 0.0


def test_same_distribution_gives_near_zero_drift(training):
    window = DriftWindow(build_profile(training), NAMES, size=2000)
    window.add(rows_like(np.random.default_rng(1), 2000))
    assert max(window.psi_by_feature().values()) < 0.05


def test_shifted_feature_crosses_the_threshold(training):
    window = DriftWindow(build_profile(training), NAMES, size=2000)
    window.add(rows_like(np.random.default_rng(2), 2000, shift=1.5))
    drift = window.psi_by_feature()
    assert drift["signal"] > 0.25
    assert drift["count"] < 0.05


def test_window_forgets_old_rows(training):
    window = DriftWindow(build_profile(training), NAMES, size=500)
    generator = np.random.default_rng(3)
    window.add(rows_like(generator, 500, shift=3.0))
    assert window.psi_by_feature()["signal"] > 1.0
    for _ in range(7):  # batches that wrap around the ring buffer unevenly
        window.add(rows_like(generator, 90))
    assert window.psi_by_feature()["signal"] < 0.1
    assert sum(window.counts[0]) == 500


def test_memory_stays_bounded_under_many_requests(training):
    window = DriftWindow(build_profile(training), NAMES, size=1000)
    generator = np.random.default_rng(4)
    footprint = window.values.nbytes
    for _ in range(2000):
        window.add(rows_like(generator, 3))
    assert window.values.nbytes == footprint
    assert window.filled == 1000
    assert [int(counts.sum()) for counts in window.counts] == [1000, 1000]


def test_empty_window_reports_no_drift(training):
    window = DriftWindow(build_profile(training), NAMES)
    assert window.psi_by_feature() == {"signal": 0.0, "count": 0.0}


def test_missing_values_are_left_out_of_their_feature_only(training):
    window = DriftWindow(build_profile(training), NAMES, size=100)
    rows = rows_like(np.random.default_rng(5), 100)
    rows[:40, 0] = np.nan
    window.add(rows)
    assert [int(counts.sum()) for counts in window.counts] == [60, 100]
    assert max(window.psi_by_feature().values()) < 0.25

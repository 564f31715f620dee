"""Prometheus metrics of the traffic: requests, latency, predicted classes,
inputs outside the training range (and input drift, from drift_gauges.py).

Each app gets its own registry, so several apps (e.g. in tests) never clash.
"""
import time
from bisect import bisect_left
from itertools import accumulate

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

# The *_created timestamp series double the scrape size and nobody graphs them.
disable_created_metrics()

# nginx's code for "the client closed the connection before the answer".
CLIENT_CLOSED = 499

# Seconds, from the request body's arrival to the answer.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class RequestCounts:
    """A Prometheus collector: http_requests_total{route,status} and the
    http_request_duration_seconds{route} histogram, kept in plain Python.

    Every request is counted on the event loop's thread, and scrapes read there
    too, so the lock that prometheus_client's Counter and Histogram take on
    each update (three per request) buys nothing; it cost more than parsing a
    request's JSON (bench/bench_serving.py)."""

    def __init__(self, buckets: tuple):
        self.bounds = list(buckets)
        self.statuses = {}  # (route, status) -> requests
        self.latencies = {}  # route -> [count per bucket, then +Inf], seconds in total

    def observe(self, route: str, status: int, seconds: float) -> None:
        key = (route, status)
        self.statuses[key] = self.statuses.get(key, 0) + 1
        latency = self.latencies.get(route)
        if latency is None:
            latency = self.latencies[route] = [[0] * (len(self.bounds) + 1), 0.0]
        latency[0][bisect_left(self.bounds, seconds)] += 1  # le: bound >= seconds
        latency[1] += seconds

    def collect(self):
        requests = CounterMetricFamily("http_requests", "HTTP requests by route and status code",
                                       labels=["route", "status"])
        for (route, status), count in list(self.statuses.items()):
            requests.add_metric([route, str(status)], count)
        yield requests
        latency = HistogramMetricFamily("http_request_duration_seconds",
                                        "Time to answer a request, by route", labels=["route"])
        bounds = [*map(floatToGoString, self.bounds), "+Inf"]
        for route, (counts, seconds) in list(self.latencies.items()):
            latency.add_metric([route], list(zip(bounds, accumulate(counts))), seconds)
        yield latency


class TrafficMetrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = RequestCounts(LATENCY_BUCKETS)
        self.registry.register(self.requests)
        self.predictions = Counter(
            "model_predictions", "Predicted rows by class", ["class"], registry=self.registry)
        self.out_of_range = Counter(
            "model_feature_out_of_range",
            "Feature values outside the range seen in training, by feature",
            ["feature"], registry=self.registry)
        self.model_info = Gauge(
            "model_info", "The served model version (value is always 1)",
            ["version"], registry=self.registry)
        self.class_counters = {}
        self.feature_counters = []
        self.minimums = self.maximums = None
        self.drift = None

    def track_drift(self, collector) -> None:
        """Export input drift (serving/drift_gauges.py) and feed it every valid row."""
        self.drift = collector
        self.registry.register(collector)

    def watch_model(self, model) -> None:
        """Create every class and feature series up front, at zero, so dashboards
        and alerts see them before the first prediction."""
        self.model_info.labels(model.version).set(1)
        self.class_counters = {label: self.predictions.labels(str(label))
                               for label in model.classes}
        self.feature_counters = [self.out_of_range.labels(name) for name in model.feature_names]
        self.minimums = np.array([feature.minimum for feature in model.features])
        self.maximums = np.array([feature.maximum for feature in model.features])

    def observe_request(self, route: str, status: int, started: float) -> None:
        self.requests.observe(route, status, time.perf_counter() - started)

    def observe_predictions(self, requests: list, matrix: np.ndarray, labels: list) -> None:
        """Count one model run: ``matrix`` (the rows of ``requests``, one array
        each, stacked) and its predicted ``labels``."""
        for label in set(labels):
            counter = self.class_counters.get(label) or self.predictions.labels(str(label))
            counter.inc(labels.count(label))
        # NaN (a null feature) compares False both ways, so it is never counted.
        outside = (matrix < self.minimums) | (matrix > self.maximums)
        # The usual request has nothing out of range: no more work. (On a few
        # rows count_nonzero() is cheaper than any(), a reduction.)
        if np.count_nonzero(outside):
            counts = outside.sum(axis=0)
            for column in np.flatnonzero(counts):
                self.feature_counters[column].inc(int(counts[column]))
        if self.drift is not None:
            self.drift.add(requests, matrix)

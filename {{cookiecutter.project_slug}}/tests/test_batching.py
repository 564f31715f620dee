"""Requests that arrive together share one model run (serving/batching.py),
and each still gets exactly its own answer, metrics and error."""
import asyncio
import json

import numpy as np

from {{ cookiecutter.module_name }}.serving.app import create_app
from {{ cookiecutter.module_name }}.serving.batching import ModelBatcher, runs_of
from stage_workspace import serving_settings

NAMES = ["signal", "noise", "count"]


class CountingModel:
    """Wraps a model and records the row count of every run."""

    def __init__(self, model):
        self.model = model
        self.runs = []

    def predict(self, matrix):
        self.runs.append(len(matrix))
        return self.model.predict(matrix)


class RecordedMetrics:
    """Records what each model run reports: its requests' row counts and labels."""

    def __init__(self):
        self.runs = []

    def observe_predictions(self, requests, matrix, labels):
        assert len(matrix) == sum(map(len, requests)) == len(labels)
        self.runs.append(([len(rows) for rows in requests], labels))


class RowSumModel:
    """Label = the row's sum; fails on any run that holds a negative value."""

    classes = [0, 1]

    def predict(self, matrix):
        if (matrix < 0).any():
            raise ValueError("negative input")
        sums = matrix.sum(axis=1)
        return sums.astype(np.int64), np.column_stack([sums, -sums]) / 3


def post(app, path: str, payload) -> tuple:
    """One request through the ASGI app, as uvicorn would pass it: (status, JSON)."""
    body = json.dumps(payload).encode()
    messages = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        messages.append(message)

    async def call():
        await app({"type": "http", "method": "POST", "path": path, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode())]}, receive, send)
        return messages[0]["status"], json.loads(messages[1]["body"])

    return call()


def app_for(directory, **overrides):
    return create_app(serving_settings(directory, **overrides))


def rows(count: int, offset: float = 0.0) -> list:
    return [{"signal": offset + i / 10, "noise": -i / 20, "count": i % 4} for i in range(count)]


def test_requests_that_arrive_together_share_one_model_run(trained_model):
    app = app_for(trained_model)
    predict_endpoint = app.endpoints["/predict"]
    model = CountingModel(predict_endpoint.model)
    predict_endpoint.batcher.model = model
    requests = [rows(1), rows(3, offset=1.0), rows(2, offset=-1.0)]
    alone = []
    for payload in requests:  # one at a time: a run each
        alone.append(asyncio.run(post(app, "/predict", payload)))
    assert model.runs == [1, 3, 2]

    async def together():
        return await asyncio.gather(*(post(app, "/predict", payload) for payload in requests))

    model.runs.clear()
    assert asyncio.run(together()) == alone  # each its own rows, as if it came alone
    assert model.runs == [6]
    metrics = app.metrics.registry
    # Every row is counted once, whichever run predicted it.
    assert sum(metrics.get_sample_value("model_predictions_total", {"class": str(label)})
               for label in (0, 1)) == 12


def test_both_routes_share_runs(trained_model):
    app = app_for(trained_model)
    model = CountingModel(app.endpoints["/predict"].model)
    app.endpoints["/predict"].batcher.model = model
    infer = next(path for path in app.endpoints if path.startswith("/v2/"))
    row = rows(1)[0]
    tensor = {"inputs": [{"name": "features", "shape": [1, 3], "datatype": "FP64",
                          "data": [row[name] for name in NAMES]}]}

    async def together():
        return await asyncio.gather(post(app, "/predict", [row]), post(app, infer, tensor))

    (status, answer), (v2_status, v2_answer) = asyncio.run(together())
    assert model.runs == [2]
    assert status == v2_status == 200
    assert answer["probabilities"][0] == v2_answer["outputs"][1]["data"]


def test_a_failing_run_is_retried_per_request_so_only_the_bad_one_fails():
    metrics = RecordedMetrics()
    batcher = ModelBatcher(RowSumModel(), metrics, max_rows=100)

    async def together():
        return await asyncio.gather(
            batcher.predict(np.array([[1.0, 2.0]])), batcher.predict(np.array([[-1.0, 0.0]])),
            batcher.predict(np.array([[0.0, 3.0]])), return_exceptions=True)

    first, bad, third = asyncio.run(together())
    assert first[0] == [3] and third[0] == [3]
    assert isinstance(bad, ValueError)
    assert metrics.runs == [([1], [3]), ([1], [3])]  # the failed rows are not counted


def test_a_failure_after_the_run_fails_its_requests_instead_of_leaving_them_waiting():
    class BrokenMetrics:
        def observe_predictions(self, requests, matrix, labels):
            raise RuntimeError("metrics broke")

    batcher = ModelBatcher(RowSumModel(), BrokenMetrics(), max_rows=100)

    async def together():
        return await asyncio.wait_for(asyncio.gather(
            batcher.predict(np.array([[1.0, 2.0]])), batcher.predict(np.array([[0.0, 3.0]])),
            return_exceptions=True), timeout=5)

    assert [str(result) for result in asyncio.run(together())] == ["metrics broke"] * 2


def test_probabilities_are_rounded_and_split_per_request():
    metrics = RecordedMetrics()
    batcher = ModelBatcher(RowSumModel(), metrics, max_rows=100)

    async def together():
        return await asyncio.gather(batcher.predict(np.array([[1.0, 0.0], [2.0, 0.0]])),
                                    batcher.predict(np.array([[1.0, 1.0]])))

    (labels, probabilities), (other_labels, other_probabilities) = asyncio.run(together())
    assert labels == [1, 2] and other_labels == [2]
    assert probabilities.tolist() == [[0.333333, -0.333333], [0.666667, -0.666667]]
    assert other_probabilities.tolist() == [[0.666667, -0.666667]]
    assert metrics.runs == [([2, 1], [1, 2, 2])]


def test_a_run_holds_at_most_max_rows_and_never_splits_a_request():
    queue = [(np.zeros((size, 2)), None) for size in (3, 4, 2, 5, 1)]
    runs = runs_of(queue, max_rows=6)
    assert [[len(matrix) for matrix, _ in run] for run in runs] == [[3], [4, 2], [5, 1]]
    assert runs_of([], max_rows=6) == []


def test_a_flush_of_more_rows_than_max_rows_makes_several_runs():
    metrics = RecordedMetrics()
    batcher = ModelBatcher(RowSumModel(), metrics, max_rows=4)

    async def together():
        return await asyncio.gather(*(batcher.predict(np.ones((size, 2))) for size in (3, 2, 1)))

    answers = asyncio.run(together())
    assert [labels for labels, _ in answers] == [[2, 2, 2], [2, 2], [2]]
    assert [sizes for sizes, _ in metrics.runs] == [[3], [2, 1]]


def test_each_request_keeps_its_own_share_of_the_drift_window(trained_model):
    """A run of many requests is no single client: the window takes at most a
    tenth of its size from each request, not from the run."""
    app = app_for(trained_model, drift_window_rows=50)
    requests = [rows(20), rows(2, offset=5.0)]

    async def together():
        return await asyncio.gather(*(post(app, "/predict", payload) for payload in requests))

    assert [status for status, _ in asyncio.run(together())] == [200, 200]
    # 20 rows sampled down to 5 (a tenth of 50), plus both rows of the small request.
    assert app.metrics.drift.window.filled == 7
    assert app.metrics.registry.get_sample_value("model_drift_window_rows") == 7

"""One model run for the requests that arrive together.

Under load, uvicorn reads several requests in one turn of the event loop. Each
queues its validated rows here; the first to queue schedules a flush for the
end of that turn (loop.call_soon). The flush runs the model once on all of
them, counts the run in the metrics and hands each request its own rows.

Nothing waits for more requests to come: a lone request is answered one turn
later. Under load the model's cost per call (ONNX Runtime's fixed overhead,
and a tree ensemble fetched into the CPU cache once instead of once per
request) is shared by every request in the run (the template measures it:
bench/bench_serving.py).
"""
import asyncio

import numpy as np

from {{ cookiecutter.module_name }}.paths import DECIMALS


def rounded(probabilities: np.ndarray) -> np.ndarray:
    # The array's own method: np.round() reaches it through a Python wrapper.
    return probabilities.astype(np.float64).round(DECIMALS)


def runs_of(queue: list, max_rows: int) -> list:
    """The queue cut, in order, into runs of at most ``max_rows`` rows (a
    request, already limited to MAX_BATCH_ROWS, is never split)."""
    runs, current, rows = [], [], 0
    for request in queue:
        if current and rows + len(request[0]) > max_rows:
            runs.append(current)
            current, rows = [], 0
        current.append(request)
        rows += len(request[0])
    return runs + [current] if current else runs


class ModelBatcher:
    """Shares model runs between concurrent requests; see the module's docstring."""

    def __init__(self, model, metrics, max_rows: int):
        self.model = model
        self.metrics = metrics
        self.max_rows = max_rows
        self.queue = []  # (matrix, done) of the requests waiting for the flush
        self.queued_rows = 0

    async def predict(self, matrix: np.ndarray) -> tuple:
        """Labels (a list) and rounded probabilities (an array) for ``matrix``'s rows."""
        future = asyncio.get_running_loop().create_future()

        def settle(result, error) -> None:
            if future.done():  # its task was cancelled (shutdown)
                return
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)

        self.submit(matrix, settle)
        return await future

    def submit(self, matrix: np.ndarray, done) -> None:
        """Queue ``matrix``; the flush calls ``done(result, None)`` with what
        predict() returns, or ``done(None, error)``."""
        if not self.queue:  # the first of this turn: the flush runs after the others queued
            asyncio.get_running_loop().call_soon(self.flush)
        self.queue.append((matrix, done))
        self.queued_rows += len(matrix)

    def flush(self) -> None:
        queue, self.queue = self.queue, []
        rows, self.queued_rows = self.queued_rows, 0
        # Usually all of them fit in one run: no need to cut the queue.
        for run in [queue] if rows <= self.max_rows else runs_of(queue, self.max_rows):
            self.run_or_fail(run)

    def run_or_fail(self, requests: list) -> None:
        """Run ``requests``; if that fails, run each alone, so only the request
        whose rows fail gets the error (never left waiting for an answer)."""
        try:
            results = self.run(requests)
        except Exception as error:
            if len(requests) > 1:
                for request in requests:
                    self.run_or_fail([request])
                return
            _, done = requests[0]
            done(None, error)
            return
        for (_, done), result in zip(requests, results):
            done(result, None)

    def run(self, requests: list) -> list:
        """Each request's labels and rounded probabilities, from one model run."""
        matrices = [matrix for matrix, _ in requests]
        matrix = matrices[0] if len(matrices) == 1 else np.concatenate(matrices)
        labels, probabilities = self.model.predict(matrix)
        labels = labels.tolist()
        self.metrics.observe_predictions(matrices, matrix, labels)
        probabilities = rounded(probabilities)
        results, start = [], 0
        for rows in matrices:
            end = start + len(rows)
            results.append((labels[start:end], probabilities[start:end]))
            start = end
        return results

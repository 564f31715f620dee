"""The served command answers the prediction routes straight from its HTTP
protocol (serving/direct_routes.py). Over real connections, each answer must be
the one the ASGI app gives the same request, and HTTP must keep working:
keep-alive, chunked bodies, pipelining, HTTP/1.0, Expect: 100-continue."""
import asyncio
import http.client
import json

import pytest
import uvicorn
from fastapi.testclient import TestClient
from served_command import answer_to, answers_in, connect, samples, served, status_of
from uvicorn.server import ServerState

from {{ cookiecutter.module_name }}.serving.app import create_app
from {{ cookiecutter.module_name }}.serving.config import Settings
from {{ cookiecutter.module_name }}.serving.direct_routes import serving_protocol
from stage_workspace import serving_settings

INFER = "/v2/models/{{ cookiecutter.project_slug }}/infer"
LIMITS = {"MAX_BATCH_ROWS": "5", "MAX_BODY_BYTES": "4000"}
ROW = {"signal": 0.9, "noise": -0.2, "count": 4}
JSON = {"Content-Type": "application/json"}


def tensor(rows: list, **overrides) -> dict:
    return {"name": "features", "shape": [len(rows), 3], "datatype": "FP64",
            "data": [value for row in rows for value in row], **overrides}


# name -> (path, body, headers)
CASES = {
    "one row": ("/predict", ROW, JSON),
    "two rows, one value missing": ("/predict", [ROW, {**ROW, "noise": None}], JSON),
    "a missing field": ("/predict", {"signal": 1.0, "count": 2}, JSON),
    "an unknown field": ("/predict", {**ROW, "extra": 1}, JSON),
    "a string value": ("/predict", {**ROW, "noise": "x"}, JSON),
    "a value out of range": ("/predict", b'{"signal": 1e999, "noise": 0, "count": 1}', JSON),
    "a fraction for an integer": ("/predict", {**ROW, "count": 2.5}, JSON),
    "an empty list": ("/predict", [], JSON),
    "too many rows": ("/predict", [ROW] * 6, JSON),
    "malformed JSON": ("/predict", b"{", JSON),
    "a form content type": ("/predict", ROW, {"Content-Type": "application/x-www-form-urlencoded"}),
    "a body over the limit": ("/predict", [ROW] * 80, JSON),
    "V2 tensor": (INFER, {"id": "a", "inputs": [tensor([[0.9, -0.2, 4], [0.1, 0.5, 7]])]}, {}),
    "V2 per-feature tensors": (INFER, {"inputs": [
        {"name": name, "shape": [1], "datatype": "FP64", "data": [ROW[name]]} for name in ROW],
        "outputs": [{"name": "predict"}]}, JSON),
    "V2 shape and data disagree": (INFER, {"inputs": [tensor([[1, 2, 3]], shape=[2, 3])]}, {}),
    "V2 binary extension": (INFER, {"inputs": [tensor([[1, 2, 3]])]},
                            {"Inference-Header-Content-Length": "10"}),
}


def encoded(body) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


@pytest.fixture(scope="module")
def server(trained_model):
    with served(trained_model, LIMITS) as address:
        yield address


def settings_for(directory) -> Settings:
    return serving_settings(directory, max_batch_rows=int(LIMITS["MAX_BATCH_ROWS"]),
                            max_body_bytes=int(LIMITS["MAX_BODY_BYTES"]))


@pytest.fixture(scope="module")
def asgi_client(trained_model):
    return TestClient(create_app(settings_for(trained_model)))


def asgi_answer(asgi_client, path: str, body, headers: dict) -> tuple:
    response = asgi_client.post(path, content=encoded(body), headers=headers)
    return response.status_code, response.headers["content-type"], response.json()


def test_every_answer_is_the_asgi_apps_answer_on_one_kept_alive_connection(server,
                                                                           asgi_client):
    before = samples(server)
    connection = http.client.HTTPConnection(*server, timeout=5)
    statuses = []
    for name, (path, body, headers) in CASES.items():
        connection.request("POST", path, body=encoded(body), headers=headers)
        response = connection.getresponse()
        answer = (response.status, response.getheader("content-type"), json.loads(response.read()))
        assert answer == asgi_answer(asgi_client, path, body, headers), name
        assert response.getheader("date"), name
        statuses.append((path, response.status))
    connection.close()
    assert {status for _, status in statuses} >= {200, 400, 413, 415, 422}
    after = samples(server)
    for path, status in set(statuses):
        series = 'http_requests_total{route="%s",status="%d"}' % (path, status)
        assert after[series] - before.get(series, 0) == statuses.count((path, status)), series


def test_a_chunked_body_is_read_whole(server, asgi_client):
    body = encoded([ROW, ROW])
    connection = http.client.HTTPConnection(*server, timeout=5)
    connection.request("POST", "/predict", body=iter([body[:7], body[7:]]), headers=JSON,
                       encode_chunked=True)
    response = connection.getresponse()
    assert (response.status, json.loads(response.read())) == \
        asgi_answer(asgi_client, "/predict", body, JSON)[::2]
    connection.close()


def test_concurrent_requests_each_get_their_own_answer(server, asgi_client):
    rows = [{**ROW, "signal": signal} for signal in (-2.0, 0.0, 0.5, 3.0)]
    sockets = [connect(server) for _ in rows]
    for sock, row in zip(sockets, rows):
        body = encoded(row)
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json"
                     b"\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    for sock, row in zip(sockets, rows):
        with sock:
            [(_, _, body)] = answers_in(answer_to(sock))
        assert json.loads(body) == asgi_answer(asgi_client, "/predict", row, JSON)[2]


def test_pipelined_requests_are_answered_in_order(server):
    body = encoded(ROW)
    predict = (b"POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    health = b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n"
    last = predict.replace(b"Host: test", b"Host: test\r\nConnection: close")
    with connect(server) as sock:
        sock.sendall(predict + health + predict + last)
        answers = answers_in(answer_to(sock))
    assert [status for status, _, _ in answers] == [200] * 4
    assert ["predictions" in json.loads(body) for _, _, body in answers] == \
        [True, False, True, True]


def test_http_1_0_gets_its_answer_and_the_connection_closes(server):
    body = encoded(ROW)
    with connect(server) as sock:
        sock.sendall(b"POST /predict HTTP/1.0\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        [(status, headers, _)] = answers_in(answer_to(sock))  # only once the server closes
    assert status == 200 and headers["connection"] == "close"


def test_expect_100_continue_is_honoured(server):
    body = encoded(ROW)
    with connect(server) as sock:
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json"
                     b"\r\nExpect: 100-continue\r\nConnection: close\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body))
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        assert status_of(answer_to(sock)) == 200


class RecordingTransport(asyncio.Transport):
    """Keeps what the protocol writes, in place of a socket."""

    def __init__(self):
        super().__init__()
        self.written = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class FailingModel:
    def predict(self, matrix):
        raise RuntimeError("the model failed")


def connected(app, settings) -> tuple:
    """The served command's protocol on a RecordingTransport, in this process,
    with a keep-alive timeout of 0.1 s; and uvicorn's server state, whose
    tasks are the ASGI requests running. Call from a running event loop."""
    config = uvicorn.Config(app, log_level="critical", timeout_keep_alive=0.1)
    config.load()
    state = ServerState()
    protocol = serving_protocol(settings, app)(config=config, server_state=state, app_state={})
    transport = RecordingTransport()
    protocol.connection_made(transport)
    return protocol, transport, state


def exchange(app, settings, *chunks: bytes, idle_seconds: float = 0.05) -> tuple:
    """``chunks`` through connected()'s protocol: what it wrote back, whether
    an ASGI task was left running, and whether the connection was closed
    ``idle_seconds`` after the last chunk."""
    async def run():
        protocol, transport, state = connected(app, settings)
        tasks = set()
        for chunk in chunks:
            protocol.data_received(chunk)
            tasks |= state.tasks
            await asyncio.sleep(0.01)  # the batcher's flush
        await asyncio.sleep(idle_seconds)
        closed = transport.closed
        protocol.connection_lost(None)
        return transport.written, tasks, closed

    return asyncio.run(run())


def predict_request(body: bytes) -> bytes:
    return (b"POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


def test_a_prediction_is_answered_without_an_asgi_task(trained_model):
    settings = settings_for(trained_model)
    app = create_app(settings)
    written, tasks, _ = exchange(app, settings, predict_request(encoded(ROW)))
    [(status, _, body)] = answers_in(written)
    assert status == 200 and "predictions" in json.loads(body)
    assert not tasks


@pytest.mark.parametrize("path", ["/predict", "/predict?by=asgi"])
def test_a_connection_answered_before_its_body_ended_still_times_out(trained_model, path):
    """A 415 goes out as soon as the headers are in; the body comes after."""
    settings = settings_for(trained_model)
    head = (f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\n"
            f"Content-Length: 8\r\n\r\n").encode()
    written, _, closed = exchange(create_app(settings), settings, head, b'{"a": 1}',
                                  idle_seconds=0.3)
    assert [status for status, _, _ in answers_in(written)] == [415]
    assert closed


def test_a_model_failure_is_a_500_that_closes_the_connection(trained_model):
    settings = settings_for(trained_model)
    app = create_app(settings)
    app.endpoints["/predict"].batcher.model = FailingModel()
    written, _, closed = exchange(app, settings, predict_request(encoded(ROW)))
    [(status, headers, body)] = answers_in(written)
    assert (status, body, headers["connection"]) == (500, b"Internal Server Error", "close")
    assert closed
    assert app.metrics.registry.get_sample_value(
        "http_requests_total", {"route": "/predict", "status": "500"}) == 1


def test_a_client_not_reading_its_answers_gets_no_more_written_until_it_does(trained_model):
    """While the transport's buffer is over its limit (asyncio's pause_writing),
    a prediction takes the ASGI way, whose answer waits for resume_writing; the
    direct way would write at once and grow the buffer without bound."""
    settings = settings_for(trained_model)
    app = create_app(settings)

    async def run():
        protocol, transport, state = connected(app, settings)
        protocol.pause_writing()
        protocol.data_received(predict_request(encoded(ROW)))
        await asyncio.sleep(0.05)
        written_while_paused, tasks = transport.written, set(state.tasks)
        protocol.resume_writing()
        if tasks:
            await asyncio.wait(tasks, timeout=5)  # the ASGI task writes its answer, then ends
        protocol.connection_lost(None)
        return written_while_paused, tasks, transport.written

    written_while_paused, tasks, written = asyncio.run(run())
    assert written_while_paused == b"" and tasks
    [(status, _, body)] = answers_in(written)
    assert status == 200 and "predictions" in json.loads(body)

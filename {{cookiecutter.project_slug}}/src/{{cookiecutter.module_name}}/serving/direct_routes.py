"""The prediction routes, answered by the HTTP protocol itself instead of through ASGI.

uvicorn hands each request to the app as an ASGI task: a Task, an Event,
message dicts, and every response header checked in Python. For a one-row
prediction that machinery costs more than the prediction itself
(bench/bench_serving.py measures both). So for POST /predict and POST
/v2/models/<name>/infer the protocol reads the body itself, gives it to the
route's endpoint, and writes the answer in one piece once the model has run.
The endpoint's steps are the ones its ASGI route runs (serving/predict.py), so
the validation, the answers, the errors and the metrics are the same.

Anything unusual still goes the ASGI way: another path or method, a query
string, `Expect: 100-continue`, a request pipelined behind one still being
answered, a client that is not reading its answers, or more requests than
limit_concurrency allows. The limits of serving/connection_limits.py apply to
both ways.
"""
import functools
import logging
import time

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from {{ cookiecutter.module_name }}.serving.connection_limits import LimitedHttpToolsProtocol
from {{ cookiecutter.module_name }}.serving.predict import body_too_large
from {{ cookiecutter.module_name }}.serving.traffic_metrics import CLIENT_CLOSED
from {{ cookiecutter.module_name }}.serving.validation import RequestError

logger = logging.getLogger(__name__)

JSON = b"application/json"


class NoWaiter:
    """uvicorn's protocol sets the request's event when the client leaves; a
    direct request has no task waiting on it."""

    def set(self) -> None:
        pass


NO_WAITER = NoWaiter()


class DirectRequest:
    """A request on a direct route. It stands where uvicorn's protocol keeps
    its RequestResponseCycle (self.cycle) and has the flags that code reads:
    response_started, response_complete, keep_alive, disconnected."""

    # The flags start as the class has them; a request sets its own on change.
    answering = False  # the body is complete: the endpoint has it
    response_started = response_complete = False
    disconnected = False  # uvicorn's connection_lost() sets it
    message_event = NO_WAITER

    def __init__(self, route: str, endpoint, headers: dict, keep_alive: bool):
        self.route = route
        self.endpoint = endpoint
        self.headers = headers
        self.keep_alive = keep_alive  # uvicorn's shutdown() clears it
        self.chunks = []  # of the body: joined once, a single one without a copy
        self.size = 0
        self.started = time.perf_counter()  # reset when the body is complete


class DirectRoutesProtocol(HttpToolsProtocol):
    def __init__(self, *args, endpoints: dict, metrics, **kwargs):
        super().__init__(*args, **kwargs)
        self.endpoints = endpoints  # request target (bytes) -> endpoint
        self.metrics = metrics

    def on_headers_complete(self) -> None:
        endpoint = self.endpoints.get(self.url)
        if endpoint is None or not self.can_answer_directly():
            super().on_headers_complete()
            return
        keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
        request = DirectRequest(self.url.decode(), endpoint, dict(self.headers), keep_alive)
        self.cycle = request
        try:
            endpoint.check_headers(request.headers)
        except RequestError as error:
            self.answer_error(request, error)

    def can_answer_directly(self) -> bool:
        limit = self.limit_concurrency
        return (self.parser.get_method() == b"POST" and not self.expect_100_continue
                and (self.cycle is None or self.cycle.response_complete)
                and not self.flow.write_paused and not self.parser.should_upgrade()
                and (limit is None or (len(self.connections) < limit and len(self.tasks) < limit)))

    def on_body(self, body: bytes) -> None:
        request = self.cycle
        if type(request) is not DirectRequest:
            super().on_body(body)
            return
        if request.response_complete:  # refused already: the rest is read and dropped
            return
        request.chunks.append(body)
        request.size += len(body)
        limit = request.endpoint.settings.max_body_bytes
        if request.size > limit:
            self.answer_error(request, body_too_large(limit))

    def on_message_complete(self) -> None:
        request = self.cycle
        if type(request) is not DirectRequest:
            super().on_message_complete()
            return
        if request.response_complete:
            return
        # Latency counts from the body's last byte, as on the ASGI route.
        request.started = time.perf_counter()
        request.answering = True
        try:
            matrix, details = request.endpoint.matrix_of(b"".join(request.chunks), request.headers)
        except RequestError as error:
            self.answer_error(request, error)
            return
        except Exception as error:
            self.answer_failure(request, error)
            return
        request.endpoint.batcher.submit(
            matrix, functools.partial(self.answer_prediction, request, details))

    def connection_lost(self, exc) -> None:
        request = self.cycle
        super().connection_lost(exc)
        if type(request) is DirectRequest and not request.answering \
                and not request.response_complete:
            # The body never came whole (the client left, or was too slow).
            request.response_complete = True
            self.metrics.observe_request(request.route, CLIENT_CLOSED, request.started)

    def answer_prediction(self, request: DirectRequest, details, result, error) -> None:
        """Called by the batcher once the model has run (or failed) on the request's rows."""
        if error is None:
            try:
                body = orjson.dumps(request.endpoint.content(details, *result))
            except Exception as failure:
                error = failure
        if error is not None:
            self.answer_failure(request, error)
        else:
            self.answer(request, 200, body)

    def answer_error(self, request: DirectRequest, error: RequestError) -> None:
        self.answer(request, error.status,
                    orjson.dumps(request.endpoint.error_body(error.detail)))

    def answer_failure(self, request: DirectRequest, error: Exception) -> None:
        # What uvicorn answers when an ASGI app raises.
        logger.error("Exception in %s", request.route, exc_info=error)
        request.keep_alive = False
        self.answer(request, 500, b"Internal Server Error", b"text/plain; charset=utf-8")

    def answer(self, request: DirectRequest, status: int, body: bytes,
               content_type: bytes = JSON) -> None:
        """Write the whole answer in one write, then count it."""
        request.response_started = request.response_complete = True
        if request.disconnected:
            status = CLIENT_CLOSED
        else:
            head = [STATUS_LINE[status]]
            for name, value in self.server_state.default_headers:  # the Date header
                head += [name, b": ", value, b"\r\n"]
            head += [b"content-type: ", content_type,
                     b"\r\ncontent-length: ", b"%d" % len(body), b"\r\n"]
            if not request.keep_alive:
                head.append(b"connection: close\r\n")
            head += [b"\r\n", body]
            self.transport.write(b"".join(head))
            if not request.keep_alive:
                self.transport.close()
            self.on_response_complete()  # uvicorn's: next pipelined request, keep-alive timer
        self.metrics.observe_request(request.route, status, request.started)


class ServingProtocol(LimitedHttpToolsProtocol, DirectRoutesProtocol):
    """What `python -m {{ cookiecutter.module_name }}.serving` runs: each request
    passes the connection limits first, then takes the direct or the ASGI way."""


def serving_protocol(settings, app):
    """The protocol class to pass to uvicorn.run(http=...) with ``app``
    (serving/app.py's ServingApp)."""
    return functools.partial(
        ServingProtocol, max_header_bytes=settings.max_header_bytes,
        header_timeout=settings.header_timeout, body_timeout=settings.body_timeout,
        endpoints={path.encode(): endpoint for path, endpoint in app.endpoints.items()},
        metrics=app.metrics)

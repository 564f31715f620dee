"""POST /predict, and what both prediction routes share.

FastAPI's request object, routing and dependency injection cost more than the
prediction itself (bench/bench_serving.py), so the hot routes talk ASGI
directly, and the served command answers them without ASGI at all
(serving/direct_routes.py), through the same JsonEndpoint steps. app.py
documents them in the OpenAPI schema like any other route.
"""
import orjson

from {{ cookiecutter.module_name }}.serving.validation import (
    RequestError, check_content_type, parse_json, rows_of)


class ClientGone(Exception):
    """The client disconnected before sending its whole body."""


async def send_json(send, status: int, content, headers=()) -> None:
    body = orjson.dumps(content)
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        *headers]})
    await send({"type": "http.response.body", "body": body})


def body_too_large(limit: int) -> RequestError:
    # Chunked uploads declare no length: the limit is checked as the body arrives.
    return RequestError(413, f"body exceeds {limit} bytes (MAX_BODY_BYTES)")


async def read_body(receive, limit: int) -> bytes:
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise body_too_large(limit)
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


class JsonEndpoint:
    """A POST route: JSON in, JSON out, a 4xx body from error_body() when the
    request is wrong. Subclasses turn the parsed body into the model's input
    (read) and its predictions into the answer (content).

    The steps are separate so that two callers share them: __call__ (ASGI) and
    the direct path of the HTTP protocol (serving/direct_routes.py)."""

    # A missing Content-Type is taken as JSON (V2 clients send none); a wrong one is 415.
    content_type_required = True

    def __init__(self, model, load_error: str, validator, batcher, settings):
        self.model = model
        self.load_error = load_error
        self.validator = validator
        self.batcher = batcher  # serving/batching.py: runs the model, counts the metrics
        self.settings = settings

    def error_body(self, message: str) -> dict:
        return {"detail": message}

    def read(self, payload, headers: dict) -> tuple:
        """The model's input matrix, and what content() needs besides the predictions."""
        raise NotImplementedError

    def content(self, request, labels: list, probabilities) -> dict:
        raise NotImplementedError

    def check_headers(self, headers: dict) -> None:
        """The refusals that need no body: 503, 415, and 413 on a declared length
        (V2 adds 400 for binary tensor data)."""
        if self.model is None:
            raise RequestError(503, f"model not loaded: {self.load_error}")
        content_type = headers.get(b"content-type")
        # The usual value, exactly, needs no parsing.
        if content_type != b"application/json" and (
                content_type is not None or self.content_type_required):
            check_content_type((content_type or b"").decode("latin-1"))
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.settings.max_body_bytes:
            raise RequestError(413, f"body of {declared.decode()} bytes exceeds "
                                    f"{self.settings.max_body_bytes} (MAX_BODY_BYTES)")

    def matrix_of(self, body: bytes, headers: dict) -> tuple:
        return self.read(parse_json(body), headers)

    async def __call__(self, scope, receive, send) -> None:
        try:
            headers = dict(scope["headers"])  # ASGI header names are lower-case bytes
            self.check_headers(headers)
            body = await read_body(receive, self.settings.max_body_bytes)
            matrix, request = self.matrix_of(body, headers)
            labels, probabilities = await self.batcher.predict(matrix)
            content = self.content(request, labels, probabilities)
        except RequestError as error:
            await send_json(send, error.status, self.error_body(error.detail))
        except ClientGone:
            return
        else:
            await send_json(send, 200, content)


class PredictEndpoint(JsonEndpoint):
    def matrix_of(self, body: bytes, headers: dict) -> tuple:
        values, rows = self.validator.decoded_values(body) or (None, 0)
        if 0 < rows <= self.settings.max_batch_rows:
            return self.validator.typed_matrix(values, rows), None
        return super().matrix_of(body, headers)  # names what is wrong

    def read(self, payload, headers: dict) -> tuple:
        return self.validator.matrix(rows_of(payload, self.settings.max_batch_rows)), None

    def content(self, request, labels: list, probabilities) -> dict:
        return {
            "model_version": self.model.version,
            "classes": self.model.classes,
            "predictions": labels,
            "probabilities": probabilities.tolist(),
        }

"""POST /predict, and what both prediction routes share, as plain ASGI.

FastAPI's request object, routing and dependency injection cost more than the
prediction itself (bench/bench_serving.py), so the hot routes talk ASGI
directly. app.py documents them in the OpenAPI schema like any other route.
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


async def read_body(receive, declared_length: bytes, limit: int) -> bytes:
    """The body, refused (413) before reading it when Content-Length is too big."""
    if declared_length.isdigit() and int(declared_length) > limit:
        raise RequestError(
            413, f"body of {declared_length.decode()} bytes exceeds {limit} (MAX_BODY_BYTES)")
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:  # chunked uploads declare no length
            raise RequestError(413, f"body exceeds {limit} bytes (MAX_BODY_BYTES)")
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


class JsonEndpoint:
    """A POST route: JSON in, JSON out, a 4xx body from error_body() when the
    request is wrong. Subclasses turn the parsed body into the answer."""

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

    async def answer(self, payload, headers: dict) -> dict:
        raise NotImplementedError

    async def __call__(self, scope, receive, send) -> None:
        try:
            if self.model is None:
                raise RequestError(503, f"model not loaded: {self.load_error}")
            headers = dict(scope["headers"])  # ASGI header names are lower-case bytes
            content_type = headers.get(b"content-type")
            if content_type is not None or self.content_type_required:
                check_content_type((content_type or b"").decode("latin-1"))
            body = await read_body(
                receive, headers.get(b"content-length", b""), self.settings.max_body_bytes)
            content = await self.answer(parse_json(body), headers)
        except RequestError as error:
            await send_json(send, error.status, self.error_body(error.detail))
        except ClientGone:
            return
        else:
            await send_json(send, 200, content)


class PredictEndpoint(JsonEndpoint):
    async def answer(self, payload, headers: dict) -> dict:
        matrix = self.validator.matrix(rows_of(payload, self.settings.max_batch_rows))
        labels, probabilities = await self.batcher.predict(matrix)
        return {
            "model_version": self.model.version,
            "classes": self.model.classes,
            "predictions": labels,
            "probabilities": probabilities.tolist(),
        }

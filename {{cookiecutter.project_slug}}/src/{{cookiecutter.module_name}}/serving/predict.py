"""POST /predict as a plain ASGI endpoint.

FastAPI's request object, routing and dependency injection cost more than the
prediction itself (about 100 of 190 microseconds per single-row request when
measured), so this one hot route talks ASGI directly. app.py documents it in
the OpenAPI schema like any other route.
"""
import numpy as np
import orjson

from {{ cookiecutter.module_name }}.serving.validation import (
    RequestError, check_content_type, parse_json, rows_of)

PROBABILITY_DECIMALS = 6


class ClientGone(Exception):
    """The client disconnected before sending its whole body."""


async def send_json(send, status: int, content) -> None:
    body = orjson.dumps(content)
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
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


class PredictEndpoint:
    def __init__(self, model, load_error: str, validator, metrics, settings):
        self.model = model
        self.load_error = load_error
        self.validator = validator
        self.metrics = metrics
        self.settings = settings

    async def __call__(self, scope, receive, send) -> None:
        try:
            content = await self.answer(scope, receive)
        except RequestError as error:
            await send_json(send, error.status, {"detail": error.detail})
        except ClientGone:
            return
        else:
            await send_json(send, 200, content)

    async def answer(self, scope, receive) -> dict:
        if self.model is None:
            raise RequestError(503, f"model not loaded: {self.load_error}")
        headers = dict(scope["headers"])  # ASGI header names are lower-case bytes
        check_content_type(headers.get(b"content-type", b"").decode("latin-1"))
        body = await read_body(
            receive, headers.get(b"content-length", b""), self.settings.max_body_bytes)
        rows = rows_of(parse_json(body), self.settings.max_batch_rows)
        matrix = self.validator.matrix(rows)
        labels, probabilities = self.model.predict(matrix)
        labels = labels.tolist()
        self.metrics.observe_predictions(matrix, labels)
        return {
            "model_version": self.model.version,
            "classes": self.model.classes,
            "predictions": labels,
            "probabilities": np.round(probabilities.astype(np.float64),
                                      PROBABILITY_DECIMALS).tolist(),
        }

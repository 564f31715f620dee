"""The serving app: POST /predict, the Open Inference Protocol's /v2 routes,
GET /health, /ready, /metrics and /docs.

create_app() loads the model once. If that fails the app still starts and
answers /health, and /ready and the prediction routes return 503 with the
reason, so an orchestrator keeps it out of rotation and the logs say why.
Both prediction routes validate their own request, then share model runs with
whatever other requests arrived at the same time (serving/batching.py). Under
`python -m {{ cookiecutter.module_name }}.serving` they are answered by the HTTP protocol
itself (serving/direct_routes.py); this app answers them in tests and in any
other ASGI server.
"""
import logging
import time

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from {{ cookiecutter.module_name }} import __version__
from {{ cookiecutter.module_name }}.serving.batching import ModelBatcher
from {{ cookiecutter.module_name }}.serving.config import Settings
from {{ cookiecutter.module_name }}.serving.docs import infer_operation, predict_operation
from {{ cookiecutter.module_name }}.serving.drift_gauges import load_drift_collector
from {{ cookiecutter.module_name }}.serving.model import Model, ModelLoadError
from {{ cookiecutter.module_name }}.serving.open_inference import InferEndpoint, protocol_router
from {{ cookiecutter.module_name }}.serving.predict import PredictEndpoint, send_json
from {{ cookiecutter.module_name }}.serving.traffic_metrics import CLIENT_CLOSED, TrafficMetrics
from {{ cookiecutter.module_name }}.serving.validation import RowValidator

logger = logging.getLogger(__name__)

PREDICT_PATH = "/predict"


def load_model(settings: Settings):
    """The model and "", or None and the reason it could not be loaded."""
    try:
        return Model(settings.model_path, settings.schema_path, settings.model_version), ""
    except (ModelLoadError, OSError, ValueError, KeyError) as error:
        logger.error("model not loaded: %s", error)
        return None, str(error)


class ServingApp:
    """Routes the POST-only prediction paths to their ASGI endpoints and
    everything else to FastAPI; counts and times every request."""

    def __init__(self, api: FastAPI, endpoints: dict, metrics: TrafficMetrics):
        self.api = api
        self.endpoints = endpoints  # path -> ASGI endpoint taking POST
        self.metrics = metrics
        # Metrics label requests by these paths; any other path counts as
        # "other", so a scanner cannot create unbounded series.
        self.known_paths = frozenset({*api.openapi()["paths"], api.docs_url, api.openapi_url})

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":  # lifespan events
            await self.api(scope, receive, send)
            return
        started = time.perf_counter()
        status, client_left = None, False

        async def send_and_record_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        async def receive_and_note_body_end():
            # Latency counts from the body's last byte: a slow upload is the
            # client's time, not the model's.
            nonlocal started, client_left
            message = await receive()
            if message["type"] == "http.disconnect":
                client_left = True
            elif not message.get("more_body"):
                started = time.perf_counter()
            return message

        path = scope["path"]
        endpoint = self.endpoints.get(path)
        try:
            if endpoint is None:
                await self.api(scope, receive_and_note_body_end, send_and_record_status)
            elif scope["method"] == "POST":
                await endpoint(scope, receive_and_note_body_end, send_and_record_status)
            else:
                await send_json(send_and_record_status, 405,
                                {"detail": f"{scope['method']} not allowed: use POST"},
                                headers=[(b"allow", b"POST")])
        finally:
            # No answer: the client left early (or was too slow), else uvicorn sends a 500.
            status = status or (CLIENT_CLOSED if client_left else 500)
            route = path if path in self.known_paths else "other"
            self.metrics.observe_request(route, status, started)


# The project's name as typed when it was generated, JSON-escaped (so any
# quotes or accents are safe); a long name may pass the line limit.
TITLE = {{ (cookiecutter.project_name ~ " prediction API") | jsonify }}  # noqa: E501


def create_api(model, load_error: str, metrics: TrafficMetrics, settings: Settings) -> FastAPI:
    api = FastAPI(title=TITLE,
                  version=__version__,
                  description="Predictions of the model trained by this project's DVC "
                              "pipeline (models/model.onnx), on /predict and on the Open "
                              "Inference Protocol (KServe V2) routes under /v2.")

    @api.get("/health", summary="Liveness: the process answers (no model needed)")
    async def health() -> dict:
        return {"status": "ok"}

    @api.get("/ready", summary="Readiness: 200 once the model is loaded, else 503",
             responses={503: {"description": "The model is not loaded; detail says why"}})
    async def ready():
        if model is None:
            return JSONResponse({"detail": f"model not loaded: {load_error}"}, status_code=503)
        return {"status": "ready", "model_version": model.version}

    @api.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    api.include_router(protocol_router(model, load_error, settings))

    def openapi() -> dict:
        if not api.openapi_schema:
            schema = FastAPI.openapi(api)
            schema["paths"][PREDICT_PATH] = {
                "post": predict_operation(model, settings.max_batch_rows)}
            schema["paths"][infer_path(settings)] = {
                "post": infer_operation(model, settings.max_batch_rows)}
            api.openapi_schema = schema
        return api.openapi_schema

    api.openapi = openapi
    return api


def infer_path(settings: Settings) -> str:
    return f"/v2/models/{settings.model_name}/infer"


def create_app(settings: Settings = None) -> ServingApp:
    settings = settings or Settings.from_env()
    model, load_error = load_model(settings)
    metrics = TrafficMetrics()
    validator = batcher = None
    if model is not None:
        metrics.watch_model(model)
        validator = RowValidator(model.features)
        drift = load_drift_collector(settings, model.feature_names)
        if drift is not None:
            metrics.track_drift(drift)
        batcher = ModelBatcher(model, metrics, settings.max_batch_rows)
    api = create_api(model, load_error, metrics, settings)
    endpoints = {
        PREDICT_PATH: PredictEndpoint(model, load_error, validator, batcher, settings),
        infer_path(settings): InferEndpoint(model, load_error, validator, batcher, settings),
    }
    return ServingApp(api, endpoints, metrics)

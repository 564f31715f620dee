"""The serving app: POST /predict, GET /health, /ready, /metrics and /docs.

create_app() loads the model once. If that fails the app still starts and
answers /health, and /ready and /predict return 503 with the reason, so an
orchestrator keeps it out of rotation and the logs say why.
"""
import logging
import time

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from {{ cookiecutter.module_name }} import __version__
from {{ cookiecutter.module_name }}.serving.config import Settings
from {{ cookiecutter.module_name }}.serving.docs import predict_operation
from {{ cookiecutter.module_name }}.serving.drift_metrics import load_drift_collector
from {{ cookiecutter.module_name }}.serving.metrics import Metrics
from {{ cookiecutter.module_name }}.serving.model import Model, ModelLoadError
from {{ cookiecutter.module_name }}.serving.predict import PredictEndpoint, send_json
from {{ cookiecutter.module_name }}.serving.validation import RowValidator

logger = logging.getLogger(__name__)

PREDICT_PATH = "/predict"
# Metrics label requests by these paths; any other path counts as "other", so
# a scanner cannot create unbounded series.
KNOWN_PATHS = frozenset({PREDICT_PATH, "/health", "/ready", "/metrics", "/docs",
                         "/openapi.json"})


def load_model(settings: Settings):
    """The model and "", or None and the reason it could not be loaded."""
    try:
        return Model(settings.model_path, settings.schema_path, settings.model_version), ""
    except (ModelLoadError, OSError, ValueError, KeyError) as error:
        logger.error("model not loaded: %s", error)
        return None, str(error)


class ServingApp:
    """Routes POST /predict to its ASGI endpoint and everything else to FastAPI;
    counts and times every request."""

    def __init__(self, api: FastAPI, predict: PredictEndpoint, metrics: Metrics):
        self.api = api
        self.predict = predict
        self.metrics = metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":  # lifespan events
            await self.api(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        path = scope["path"]
        try:
            if path != PREDICT_PATH:
                await self.api(scope, receive, send_and_record_status)
            elif scope["method"] == "POST":
                await self.predict(scope, receive, send_and_record_status)
            else:
                await send_json(send_and_record_status, 405,
                                {"detail": f"{scope['method']} not allowed: use POST"})
        finally:
            route = path if path in KNOWN_PATHS else "other"
            self.metrics.observe_request(route, status, started)


# The project's name as typed when it was generated, JSON-escaped (so any
# quotes or accents are safe); a long name may pass the line limit.
TITLE = {{ (cookiecutter.project_name ~ " prediction API") | jsonify }}  # noqa: E501


def create_api(model, load_error: str, metrics: Metrics, settings: Settings) -> FastAPI:
    api = FastAPI(title=TITLE,
                  version=__version__,
                  description="Predictions of the model trained by this project's DVC "
                              "pipeline (models/model.onnx).")

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

    def openapi() -> dict:
        if not api.openapi_schema:
            schema = FastAPI.openapi(api)
            schema["paths"][PREDICT_PATH] = {
                "post": predict_operation(model, settings.max_batch_rows)}
            api.openapi_schema = schema
        return api.openapi_schema

    api.openapi = openapi
    return api


def create_app(settings: Settings = None) -> ServingApp:
    settings = settings or Settings.from_env()
    model, load_error = load_model(settings)
    metrics = Metrics()
    validator = None
    if model is not None:
        metrics.watch_model(model)
        validator = RowValidator(model.features)
        drift = load_drift_collector(settings, model.feature_names)
        if drift is not None:
            metrics.track_drift(drift)
    api = create_api(model, load_error, metrics, settings)
    predict = PredictEndpoint(model, load_error, validator, metrics, settings)
    return ServingApp(api, predict, metrics)

"""The relay's HTTP side: `POST /alerts` (Alertmanager's webhook) and `GET /health`.

Settings (environment variables), besides the trigger's (triggers.py):

    RELAY_TOKEN             the bearer token Alertmanager sends (required)
    RELAY_COOLDOWN_SECONDS  at most one pipeline per this many seconds (3600)
    RELAY_HOST, RELAY_PORT  where to listen (0.0.0.0, 9095)

Bounded on purpose: one request at a time (Alertmanager sends a few a
minute), a 10 s socket timeout, bodies up to 256 KiB, the standard library's
limits on header count and length, and a timeout on the outgoing call.
"""
import hmac
import json
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer

from {{ cookiecutter.module_name }}.relay.triggers import build
from {{ cookiecutter.module_name }}.webapi import ApiError, call

MAX_BODY_BYTES = 256 * 1024
RETRAIN_LABEL = ("action", "retrain")


class BadRequest(ValueError):
    """The webhook body is not what Alertmanager sends; the message names the field."""


def retrain_alerts(payload) -> list:
    """The firing alerts labelled action=retrain in an Alertmanager webhook body."""
    if not isinstance(payload, dict) or not isinstance(payload.get("alerts"), list):
        raise BadRequest("alerts: expected a list of alerts")
    chosen = []
    for index, alert in enumerate(payload["alerts"]):
        if not isinstance(alert, dict) or not isinstance(alert.get("labels"), dict):
            raise BadRequest(f"alerts[{index}].labels: expected an object")
        label, value = RETRAIN_LABEL
        if alert.get("status") == "firing" and alert["labels"].get(label) == value:
            chosen.append(alert)
    return chosen


def reason_for(alerts: list) -> str:
    """A short reason for the CI run, e.g. 'FeatureDrift (mean_radius, mean_texture)'."""
    names = sorted({str(alert["labels"].get("alertname", "alert")) for alert in alerts})
    features = sorted({str(alert["labels"]["feature"]) for alert in alerts
                       if "feature" in alert["labels"]})
    reason = ", ".join(names) + (f" ({', '.join(features)})" if features else "")
    return reason[:200]


class Relay:
    """Starts at most one pipeline per cool-down, however many alerts arrive."""

    def __init__(self, settings: dict, cooldown_seconds: float, send=call,
                 clock=time.monotonic):
        self.settings, self.cooldown = settings, cooldown_seconds
        self.send, self.clock = send, clock
        self.last_start = None
        self.lock = threading.Lock()

    def handle(self, payload) -> tuple:
        """Return (HTTP status, message) for one webhook body."""
        alerts = retrain_alerts(payload)
        if not alerts:
            return HTTPStatus.OK, "no firing alert labelled action=retrain: nothing to start"
        with self.lock:
            now = self.clock()
            if self.last_start is not None and now - self.last_start < self.cooldown:
                wait = self.cooldown - (now - self.last_start)
                return HTTPStatus.OK, f"cool-down: a run started recently; next in {wait:.0f}s"
            request = build(self.settings, reason_for(alerts))
            try:
                self.send(request.method, request.url, request.headers, request.body)
            except ApiError as error:
                # 502: Alertmanager retries, and no cool-down starts.
                return HTTPStatus.BAD_GATEWAY, f"could not start the pipeline: {error}"
            self.last_start = now
        return HTTPStatus.ACCEPTED, f"started the retraining pipeline: {reason_for(alerts)}"


class RelayHandler(BaseHTTPRequestHandler):
    timeout = 10  # seconds a client has to send its request
    server_version = "retrain-relay"

    def answer(self, status: int, message: str) -> None:
        body = json.dumps({"detail": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/health":
            self.answer(HTTPStatus.OK, "ok")
        else:
            self.answer(HTTPStatus.NOT_FOUND, f"no route {self.path}: POST /alerts, GET /health")

    def do_POST(self) -> None:
        if self.path != "/alerts":
            self.answer(HTTPStatus.NOT_FOUND, f"no route {self.path}: POST /alerts, GET /health")
            return
        expected = f"Bearer {self.server.token}".encode()
        given = self.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            self.answer(HTTPStatus.UNAUTHORIZED, "Authorization: expected the relay's bearer token")
            return
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self.answer(HTTPStatus.LENGTH_REQUIRED, "Content-Length: required")
            return
        if int(length) > MAX_BODY_BYTES:
            self.answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                        f"body: {length} bytes, at most {MAX_BODY_BYTES}")
            return
        try:
            payload = json.loads(self.rfile.read(int(length)))
            status, message = self.server.relay.handle(payload)
        except (ValueError, UnicodeDecodeError) as error:  # BadRequest and bad JSON
            status, message = HTTPStatus.BAD_REQUEST, f"body: {error}"
        self.answer(status, message)

    def log_message(self, format: str, *args) -> None:
        print(f"{self.address_string()} {format % args}", flush=True)


class RelayServer(HTTPServer):
    """One request at a time; a short queue of waiting connections."""
    request_queue_size = 16

    def __init__(self, address: tuple, relay: Relay, token: str):
        super().__init__(address, RelayHandler)
        self.relay, self.token = relay, token

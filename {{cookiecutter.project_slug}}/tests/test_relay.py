"""The retrain relay: Alertmanager's webhook in, one CI trigger request out."""
import base64
import json
import threading
import urllib.error
import urllib.request

import pytest
from api_stand_in import StandInApi

from {{ cookiecutter.module_name }}.relay.server import MAX_BODY_BYTES, Relay, RelayServer
from {{ cookiecutter.module_name }}.relay.triggers import settings_from

RELAY_TOKEN = "relay-secret"
COOLDOWN = 600


def webhook(*alerts, status="firing") -> dict:
    """An Alertmanager webhook body (version 4) holding ``alerts``."""
    return {"version": "4", "status": status, "receiver": "retrain-relay",
            "groupLabels": {"alertname": "FeatureDrift"}, "alerts": list(alerts)}


def drift(feature: str, status: str = "firing", **labels) -> dict:
    return {"status": status, "labels": {"alertname": "FeatureDrift", "action": "retrain",
                                         "feature": feature, **labels},
            "annotations": {"summary": f"{feature} drifted"}}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def ci_api():
    with StandInApi() as stand_in:
        yield stand_in


def start_relay(environ: dict, clock=None):
    relay = Relay(settings_from(environ), COOLDOWN, clock=clock or Clock())
    server = RelayServer(("127.0.0.1", 0), relay, RELAY_TOKEN)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def github_relay(ci_api):
    ci_api.answer("POST", "/repos/org/model/actions/workflows/retrain.yml/dispatches", 204)
    clock = Clock()
    server, url = start_relay({"RELAY_PROVIDER": "github", "TRIGGER_URL": ci_api.url,
                               "TRIGGER_PROJECT": "org/model", "TRIGGER_TOKEN": "gh-token"},
                              clock)
    yield url, clock
    server.shutdown()
    server.server_close()


def post(url: str, body, token: str = RELAY_TOKEN, raw: bytes = None):
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url + "/alerts", data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())["detail"]
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())["detail"]


PROVIDERS = {
    "github": ({"TRIGGER_PROJECT": "org/model", "TRIGGER_TOKEN": "gh-token"},
               "/repos/org/model/actions/workflows/retrain.yml/dispatches", 204),
    "gitlab": ({"TRIGGER_PROJECT": "group/model", "TRIGGER_TOKEN": "glptt-token"},
               "/projects/group%2Fmodel/trigger/pipeline", 201),
    "jenkins": ({"TRIGGER_USER": "bot", "TRIGGER_TOKEN": "api-token"},
                "/job/model/buildWithParameters", 201),
}


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_a_drift_alert_sends_the_providers_documented_trigger(ci_api, provider):
    settings, path, status = PROVIDERS[provider]
    ci_api.answer("POST", path, status)
    base = ci_api.url + ("/job/model" if provider == "jenkins" else "")
    server, url = start_relay({"RELAY_PROVIDER": provider, "TRIGGER_URL": base, **settings})
    try:
        answer = post(url, webhook(drift("mean_radius"), drift("mean_area")))
    finally:
        server.shutdown()
        server.server_close()
    assert answer == (202, "started the retraining pipeline: FeatureDrift (mean_area, mean_radius)")
    request, = ci_api.requests
    assert (request.method, request.path) == ("POST", path)
    reason = "FeatureDrift (mean_area, mean_radius)"
    if provider == "github":
        assert request.headers["Authorization"] == "Bearer gh-token"
        assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
        assert request.json() == {"ref": "main", "inputs": {"reason": reason}}
    elif provider == "gitlab":
        assert "Authorization" not in request.headers  # the token is a form field
        assert request.form() == {"token": "glptt-token", "ref": "main",
                                  "variables[RETRAIN_REASON]": reason}
    else:
        assert request.headers["Authorization"] == "Basic " + base64.b64encode(
            b"bot:api-token").decode()
        assert request.form() == {"RETRAIN_REASON": reason}


def test_repeated_alerts_start_one_run_per_cooldown(github_relay, ci_api):
    url, clock = github_relay
    assert post(url, webhook(drift("a")))[0] == 202
    clock.now += COOLDOWN - 1
    status, detail = post(url, webhook(drift("a")))
    assert (status, detail) == (200, "cool-down: a run started recently; next in 1s")
    assert len(ci_api.requests) == 1
    clock.now += 1
    assert post(url, webhook(drift("a")))[0] == 202
    assert len(ci_api.requests) == 2


def test_only_firing_alerts_labelled_for_retraining_start_a_run(github_relay, ci_api):
    url, _ = github_relay
    other = {"status": "firing", "labels": {"alertname": "HighLatencyP99"}}
    for body in (webhook(other), webhook(drift("a", status="resolved"), status="resolved")):
        assert post(url, body) == (
            200, "no firing alert labelled action=retrain: nothing to start")
    assert ci_api.requests == []


def test_a_failing_ci_api_is_a_502_and_starts_no_cooldown(github_relay, ci_api):
    url, _ = github_relay
    ci_api.answer("POST", "/repos/org/model/actions/workflows/retrain.yml/dispatches", 422,
                  {"message": "Unexpected inputs provided"})
    status, detail = post(url, webhook(drift("a")))
    assert status == 502 and "422" in detail and "Unexpected inputs" in detail
    ci_api.answer("POST", "/repos/org/model/actions/workflows/retrain.yml/dispatches", 204)
    assert post(url, webhook(drift("a")))[0] == 202


@pytest.mark.parametrize("token, raw, expected", [
    (None, b"{}", (401, "Authorization: expected the relay's bearer token")),
    ("wrong", b"{}", (401, "Authorization: expected the relay's bearer token")),
    (RELAY_TOKEN, b"{not json", (400, "body: Expecting property name enclosed in double "
                                      "quotes: line 1 column 2 (char 1)")),
    (RELAY_TOKEN, b'{"version": "4"}', (400, "body: alerts: expected a list of alerts")),
    (RELAY_TOKEN, b'{"alerts": [{"labels": 3}]}',
     (400, "body: alerts[0].labels: expected an object")),
    (RELAY_TOKEN, b"x" * (MAX_BODY_BYTES + 1),
     (413, f"body: {MAX_BODY_BYTES + 1} bytes, at most {MAX_BODY_BYTES}")),
], ids=["no token", "wrong token", "bad JSON", "no alerts", "bad labels", "too large"])
def test_bad_requests_get_a_4xx_naming_the_problem(github_relay, ci_api, token, raw, expected):
    url, _ = github_relay
    assert post(url, None, token=token, raw=raw) == expected
    assert ci_api.requests == []


def test_health_and_unknown_routes(github_relay):
    url, _ = github_relay
    with urllib.request.urlopen(url + "/health", timeout=5) as answer:
        assert answer.status == 200
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(url + "/nope", timeout=5)
    assert error.value.code == 404


@pytest.mark.parametrize("environ, message", [
    ({}, "RELAY_PROVIDER must be one of github, gitlab, jenkins, not ''"),
    ({"RELAY_PROVIDER": "github", "TRIGGER_TOKEN": "t"}, "needs TRIGGER_PROJECT"),
    ({"RELAY_PROVIDER": "jenkins", "TRIGGER_TOKEN": "t"}, "needs TRIGGER_URL, TRIGGER_USER"),
])
def test_missing_settings_are_named(environ, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        settings_from(environ)

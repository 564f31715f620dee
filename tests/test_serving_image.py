"""The generated Dockerfile, built and run for real.

Bakes the default project, runs its pipeline, builds the image with the
project's own `make image` (podman, daemonless, from the local stand-in for
python:3.11-slim) and runs it on the host network: every endpoint, a bad
request, the non-root user and the image config. The hadolint test needs no
container tools.
"""
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import bake, make_serving_image, run
from support.containers import BASE_IMAGE, free_port

IMAGE = "localhost/tumor-classifier"
TAG = "template-test"
MODULE = "tumor_classifier"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return bake(tmp_path_factory.mktemp("serving-image"))


def test_dockerfile_passes_hadolint(project):
    result = run(["hadolint", "--failure-threshold", "info", "Dockerfile"], project)
    assert result.stdout == ""


@pytest.fixture(scope="module")
def image(tools, project):
    """`make image` (which runs `make repro` first), with podman."""
    make_serving_image(tools, project, f"{IMAGE}:{TAG}", BASE_IMAGE)
    yield f"{IMAGE}:{TAG}"
    tools.remove_image(f"{IMAGE}:{TAG}")


@pytest.fixture(scope="module")
def container(tools, image):
    port = free_port()
    with tools.run_container(image, env={"PORT": str(port)}, port=port,
                             path="/health") as running:
        yield running


def post(url: str, body: bytes, content_type: str = "application/json"):
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def valid_row(project: Path) -> dict:
    schema = json.loads((project / "models" / "schema.json").read_text())
    return {feature["name"]: (feature["min"] + feature["max"]) / 2
            for feature in schema["features"]}


@pytest.mark.container
def test_image_config(tools, image):
    config = tools.image_config(image)
    assert config["User"] == "10001:10001"
    assert set(config["ExposedPorts"]) == {"8000/tcp"}
    assert config["Cmd"] == ["python", "-m", f"{MODULE}.serving"]
    assert config["Healthcheck"]["Test"] == ["CMD", "python", "-m", f"{MODULE}.serving.healthcheck"]
    assert f"MODEL_VERSION={TAG}" in config["Env"]


@pytest.mark.container
def test_image_adds_at_most_200_mb_to_its_base(tools, image):
    added = tools.image_size(image) - tools.image_size(BASE_IMAGE)
    assert added <= 200 * 10**6, f"the image adds {added / 10**6:.0f} MB to {BASE_IMAGE}"


@pytest.mark.container
def test_image_holds_only_what_serving_needs(tools, container):
    probe = ("import importlib.util as u; print([m for m in "
             "('sklearn', 'pandas', 'dvc', 'skl2onnx', 'onnx', 'pip', 'setuptools', 'flatbuffers')"
             " if u.find_spec(m)])")
    assert container.exec(["python", "-c", probe]) == "[]"
    assert container.exec(["ls", "/app/models"]).split() == [
        "model.onnx", "reference_profile.json", "schema.json"]
    assert container.exec(["sh", "-c", "command -v gcc cc make || echo none"]) == "none"


@pytest.mark.container
def test_serves_every_endpoint_as_non_root(tools, project, container):
    assert container.exec(["id", "-u"]) == "10001"
    assert container.get("/health").status == 200
    ready = container.get("/ready")
    assert ready.status == 200 and json.loads(ready.body)["model_version"] == TAG
    status, body = post(container.url + "/predict", json.dumps(valid_row(project)).encode())
    assert status == 200 and body["classes"] == [0, 1] and len(body["probabilities"][0]) == 2
    status, body = post(container.url + "/predict", b'{"mean_radius": NaN}')
    assert status == 422 and "missing fields" in body["detail"]
    status, body = post(container.url + "/predict", b"[]", "text/plain")
    assert status == 415
    metrics = container.get("/metrics").body.decode()
    assert 'http_requests_total{route="/predict",status="200"} 1.0' in metrics
    assert 'http_requests_total{route="/predict",status="422"} 1.0' in metrics
    assert "model_drift_window_rows 1.0" in metrics  # the image carries the drift profile
    assert container.healthcheck()
    assert container.is_running()


@pytest.mark.container
def test_the_image_also_runs_the_retrain_relay(tools, image):
    """monitoring/retrain-relay/ runs `python -m <module>.relay` from this image."""
    port = free_port()
    env = {"RELAY_HOST": "127.0.0.1", "RELAY_PORT": str(port), "RELAY_TOKEN": "relay-token",
           "RELAY_PROVIDER": "github", "TRIGGER_PROJECT": "org/model", "TRIGGER_TOKEN": "t"}
    with tools.run_container(image, env=env, port=port, path="/health",
                             command=["python", "-m", f"{MODULE}.relay"]) as relay:
        assert post(relay.url + "/alerts", b"{}") == (
            401, {"detail": "Authorization: expected the relay's bearer token"})

"""The generated Dockerfile, built and run for real.

Bakes the default project, runs its pipeline, builds the image with the
project's own `make image` (podman, daemonless, from the local stand-in for
python:3.11-slim) and runs it on the host network: every endpoint, a bad
request, the non-root user and the image config. The Open Inference Protocol
routes are checked against the protocol's published REST schema (vendored in
tests/fixtures/open-inference-protocol) and used by an outside client, Triton's
`tritonclient[http]`. The hadolint test needs no container tools.
"""
import json
import urllib.error
import urllib.request
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import tritonclient.http as triton
import yaml

from support.containers import BASE_IMAGE
from support.processes import free_port
from support.project import bake, make_serving_image, run

IMAGE = "localhost/tumor-classifier"
TAG = "template-test"
MODULE = "tumor_classifier"
MODEL_NAME = "tumor-classifier"  # the project slug
OPEN_INFERENCE_SPEC = (Path(__file__).parent / "fixtures" / "open-inference-protocol"
                       / "open_inference_rest.yaml")


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
    return answer(request)


def answer(request):
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
    # This image's own TAG, even when an image with another TAG was built before it.
    assert container.exec(["cat", "/app/MODEL_VERSION"]) == TAG
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


def get(url: str):
    return answer(urllib.request.Request(url))


@pytest.fixture(scope="module")
def spec_validators() -> dict:
    """A validator per schema the protocol's REST spec defines, by name."""
    spec = yaml.safe_load(OPEN_INFERENCE_SPEC.read_text())
    return {name: jsonschema.Draft4Validator(
                {"$ref": f"#/components/schemas/{name}", "components": spec["components"]})
            for name in spec["components"]["schemas"]}


def conforms(validators: dict, schema: str, body: dict) -> dict:
    errors = [error.message for error in validators[schema].iter_errors(body)]
    assert errors == [], f"{schema}: {errors}"
    return body


def rows_as_tensor(project: Path, rows: int) -> np.ndarray:
    row = valid_row(project)
    return np.array([list(row.values())] * rows, dtype=np.float64)


@pytest.mark.container
def test_open_inference_routes_conform_to_the_published_schema(
        project, container, spec_validators):
    v2 = f"{container.url}/v2"
    status, body = get(v2)
    assert status == 200 and conforms(spec_validators, "metadata_server_response", body)
    status, body = get(f"{v2}/models/{MODEL_NAME}")
    assert status == 200 and conforms(spec_validators, "metadata_model_response", body)
    status, body = get(f"{v2}/models/absent")
    assert status == 404 and conforms(spec_validators, "metadata_model_error_response", body)
    matrix = rows_as_tensor(project, 2)
    request = conforms(spec_validators, "inference_request", {"id": "7", "inputs": [
        {"name": "features", "shape": list(matrix.shape), "datatype": "FP64",
         "data": matrix.ravel().tolist()}]})
    status, body = post(f"{v2}/models/{MODEL_NAME}/infer", json.dumps(request).encode())
    assert status == 200 and conforms(spec_validators, "inference_response", body)
    assert body["id"] == "7" and body["outputs"][1]["shape"] == [2, 2]
    request["inputs"][0]["datatype"] = "BYTES"
    status, body = post(f"{v2}/models/{MODEL_NAME}/infer", json.dumps(request).encode())
    assert status == 422 and conforms(spec_validators, "inference_error_response", body)
    assert list(body) == ["error"]
    for path in ("/v2/health/live", "/v2/health/ready", f"/v2/models/{MODEL_NAME}/ready"):
        assert container.get(path).status == 200


@pytest.mark.container
def test_triton_client_gets_the_predictions_of_predict(project, container):
    client = triton.InferenceServerClient(container.url.removeprefix("http://"))
    try:
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready(MODEL_NAME)
        [model_input] = client.get_model_metadata(MODEL_NAME)["inputs"]
        matrix = rows_as_tensor(project, 3)
        tensor = triton.InferInput(model_input["name"], list(matrix.shape),
                                   model_input["datatype"])
        tensor.set_data_from_numpy(matrix, binary_data=False)  # JSON: no binary extension
        result = client.infer(MODEL_NAME, [tensor], outputs=[
            triton.InferRequestedOutput("predict_proba", binary_data=False)])
        probabilities = result.as_numpy("predict_proba")
    finally:
        client.close()
    rows = [dict(zip(valid_row(project), values)) for values in matrix.tolist()]
    status, body = post(container.url + "/predict", json.dumps(rows).encode())
    assert status == 200
    np.testing.assert_array_equal(probabilities, body["probabilities"])


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

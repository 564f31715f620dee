"""The Open Inference Protocol (KServe V2) routes: the same model, validation,
metrics and drift window as /predict, in the protocol's JSON."""
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.module_name }}.serving.app import create_app
from {{ cookiecutter.module_name }}.serving.config import Settings
from {{ cookiecutter.module_name }}.serving.open_inference import InferEndpoint
from {{ cookiecutter.module_name }}.serving.predict import JsonEndpoint
from stage_workspace import serving_settings

NAME = "{{ cookiecutter.project_slug }}"
INFER = f"/v2/models/{NAME}/infer"
FEATURES = ["signal", "noise", "count"]
ROWS = [[0.9, -0.2, 4], [0.1, 0.5, 7]]
MAX_ROWS = 5


def settings_for(directory, **overrides) -> Settings:
    return serving_settings(directory, max_batch_rows=MAX_ROWS, **overrides)


@pytest.fixture(scope="module")
def client(trained_model):
    return TestClient(create_app(settings_for(trained_model)))


def matrix_input(rows=ROWS, **overrides) -> dict:
    tensor = {"name": "features", "shape": [len(rows), len(FEATURES)], "datatype": "FP64",
              "data": [value for row in rows for value in row]}
    return {**tensor, **overrides}


def infer(client, body, **headers):
    content = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(INFER, content=content, headers=headers)


def outputs(response) -> dict:
    assert response.status_code == 200, response.text
    return {output["name"]: output for output in response.json()["outputs"]}


def test_health_and_metadata(client):
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}
    assert client.get(f"/v2/models/{NAME}/ready").json() == {"name": NAME, "ready": True}
    assert client.get("/v2").json()["extensions"] == []
    metadata = client.get(f"/v2/models/{NAME}").json()
    assert metadata["platform"] == "onnx_onnxv1"
    assert metadata["inputs"] == [{"name": "features", "datatype": "FP64", "shape": [-1, 3]}]
    assert metadata["properties"] == {"columns": "signal,noise,count"}
    assert [(o["name"], o["shape"]) for o in metadata["outputs"]] == [
        ("predict", [-1]), ("predict_proba", [-1, 2])]


def test_unknown_model_is_404_with_the_protocol_error_body(client):
    for response in (client.get("/v2/models/other"), client.get("/v2/models/other/ready"),
                     client.post("/v2/models/other/infer", json={"inputs": [matrix_input()]})):
        assert response.status_code == 404
        assert response.json() == {"error": f"unknown model 'other': this server serves '{NAME}'"}


def test_a_tensor_answers_as_predict_does(client):
    predicted = client.post("/predict", json=[dict(zip(FEATURES, row)) for row in ROWS]).json()
    response = infer(client, {"id": "req-1", "inputs": [matrix_input()]})
    found = outputs(response)
    assert response.json()["id"] == "req-1"
    assert response.json()["model_name"] == NAME
    assert found["predict"] == {"name": "predict", "datatype": "INT64", "shape": [2],
                                "data": predicted["predictions"]}
    assert found["predict_proba"]["shape"] == [2, 2]
    np.testing.assert_array_equal(np.reshape(found["predict_proba"]["data"], (2, 2)),
                                  predicted["probabilities"])


def test_nested_data_and_per_feature_inputs_mean_the_same_rows(client):
    flat = outputs(infer(client, {"inputs": [matrix_input()]}))
    nested = outputs(infer(client, {"inputs": [matrix_input(data=ROWS)]}))
    per_feature = outputs(infer(client, {"inputs": [
        {"name": name, "shape": [2], "datatype": "FP64", "data": [row[i] for row in ROWS]}
        for i, name in reversed(list(enumerate(FEATURES)))]}))  # any order
    assert flat == nested == per_feature


def test_outputs_can_be_chosen(client):
    body = {"inputs": [matrix_input()], "outputs": [{"name": "predict"}]}
    assert list(outputs(infer(client, body))) == ["predict"]


GOOD = {"inputs": [matrix_input()]}
BAD_REQUESTS = {
    "not JSON": ("{", 400, "malformed JSON"),
    "no inputs": ({"id": "1"}, 422, 'a non-empty list "inputs"'),
    "string id": ({**GOOD, "id": 7}, 422, "id: expected a string, got number"),
    "bytes datatype": ({"inputs": [matrix_input(datatype="BYTES")]}, 422,
                       "inputs[0].datatype: expected a numeric type such as FP64, got 'BYTES'"),
    "shape and data disagree": ({"inputs": [matrix_input(shape=[3, 3])]}, 422,
                                "inputs[0]: shape [3, 3] holds 9 values, data has 6"),
    # 1e999 parses to inf, which int() cannot take: this was a 500.
    "infinite dimension": ('{"inputs": [{"name": "features", "shape": [1e999, 3], '
                           '"datatype": "FP64", "data": [1]}]}', 422,
                           "inputs[0].shape: expected a list of sizes, got [inf, 3.0]"),
    "fractional dimension": ({"inputs": [matrix_input(shape=[1.5, 3])]}, 422,
                             "inputs[0].shape: expected a list of sizes, got [1.5, 3]"),
    "wrong column count": ({"inputs": [matrix_input(shape=[3, 2])]}, 422,
                           "inputs[0].shape: expected [rows, 3] (columns: signal, noise, count)"),
    "string value": ({"inputs": [matrix_input(rows=[[0.9, "x", 4]])]}, 422,
                     "inputs[0].data[1]: expected a finite number or null, got string"),
    "infinite value": ('{"inputs": [{"name": "features", "shape": [1, 3], '
                       '"datatype": "FP64", "data": [0.9, 1e999, 4]}]}', 422,
                       "rows[0].noise: expected a finite number, got a value out of range"),
    "fraction for an integer feature": ({"inputs": [matrix_input(rows=[[0.9, 0.1, 2.5]])]},
                                        422, "rows[0].count: expected an integer, got 2.5"),
    "no rows": ({"inputs": [matrix_input(rows=[])]}, 422, "no rows"),
    "too many rows": ({"inputs": [matrix_input(rows=ROWS * 3)]}, 413,
                      f"6 rows in one request; the limit is {MAX_ROWS} (MAX_BATCH_ROWS)"),
    "a feature missing": ({"inputs": [{"name": "signal", "shape": [1], "datatype": "FP64",
                                       "data": [1.0]}]}, 422, "missing features ['noise'"),
    "two unknown inputs": ({"inputs": [matrix_input(), matrix_input(name="extra")]}, 422,
                           "unknown feature inputs ['features', 'extra']"),
    "unknown output": ({**GOOD, "outputs": [{"name": "logits"}]}, 422,
                       "outputs[0].name: expected 'predict' or 'predict_proba', got 'logits'"),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_bad_request_gets_a_4xx_with_the_protocol_error_body(client, case):
    body, status, message = BAD_REQUESTS[case]
    response = infer(client, body)
    assert response.status_code == status, response.text
    assert list(response.json()) == ["error"] and message in response.json()["error"]


# Valid requests that msgspec reads (serving/typed_decoding.py); the general
# path must read each to the same matrix, id and outputs.
VALID_REQUESTS = {
    "one tensor": GOOD,
    "an id and one output": {**GOOD, "id": "7", "outputs": [{"name": "predict_proba"}]},
    "no output wanted": {**GOOD, "outputs": []},
    "nulls, FP32 and parameters": {
        "inputs": [matrix_input(rows=[[None, 0.5, None]], datatype="FP32",
                                parameters={"content_type": "np"})],
        "parameters": {}},
}


@pytest.mark.parametrize("body", VALID_REQUESTS.values(), ids=VALID_REQUESTS)
def test_the_fast_and_the_general_path_read_a_valid_request_alike(client, body, monkeypatch):
    endpoint, content = client.app.endpoints[INFER], json.dumps(body).encode()
    general, general_request = JsonEndpoint.matrix_of(endpoint, content, {})
    # From here the general path raises NotImplementedError (JsonEndpoint.read).
    monkeypatch.delattr(InferEndpoint, "read")
    fast, fast_request = endpoint.matrix_of(content, {})
    np.testing.assert_array_equal(fast, general)
    assert fast_request == general_request


def test_content_type_may_be_absent_but_not_wrong(client):
    assert infer(client, GOOD).status_code == 200  # no Content-Type, as Triton's client sends
    response = infer(client, GOOD, **{"Content-Type": "text/plain"})
    assert response.status_code == 415 and "application/json" in response.json()["error"]


def test_binary_tensor_extension_is_refused_by_name(client):
    response = infer(client, GOOD, **{"Inference-Header-Content-Length": "10"})
    assert response.status_code == 400 and "binary tensor" in response.json()["error"]


def test_get_on_infer_is_405_naming_post(client):
    response = client.get(INFER)
    assert response.status_code == 405 and response.headers["allow"] == "POST"


def test_metrics_and_drift_count_v2_requests(trained_model):
    app_client = TestClient(create_app(settings_for(trained_model)))
    assert infer(app_client, GOOD).status_code == 200
    assert infer(app_client, {"inputs": []}).status_code == 422
    text = app_client.get("/metrics").text
    for status in (200, 422):
        assert 'http_requests_total{route="%s",status="%d"} 1.0' % (INFER, status) in text
    assert "model_drift_window_rows 2.0" in text
    assert 'model_predictions_total{class="0"}' in text


def test_without_a_model_ready_and_infer_are_503(tmp_path):
    app_client = TestClient(create_app(settings_for(tmp_path)))
    assert app_client.get("/v2/health/live").status_code == 200
    assert app_client.get("/v2/health/ready").status_code == 503
    assert app_client.get(f"/v2/models/{NAME}/ready").json() == {"name": NAME, "ready": False}
    response = infer(app_client, GOOD)
    assert response.status_code == 503 and "model not loaded" in response.json()["error"]


def test_openapi_documents_the_protocol(client):
    paths = client.get("/openapi.json").json()["paths"]
    operation = paths[INFER]["post"]
    example = operation["requestBody"]["content"]["application/json"]["example"]
    assert example["inputs"][0]["shape"] == [1, 3]
    assert outputs(infer(client, example))["predict"]["shape"] == [1]
    assert {"/v2", "/v2/health/live", "/v2/health/ready", f"/v2/models/{NAME}",
            f"/v2/models/{NAME}/ready"} <= set(paths)

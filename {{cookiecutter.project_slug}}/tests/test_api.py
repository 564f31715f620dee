"""The prediction API, end to end through FastAPI's TestClient.

Every bad request must get a 4xx whose body names the problem, and the server
must keep answering good requests afterwards.
"""
import hashlib
import json
import os
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.module_name }}.serving.app import create_app
from {{ cookiecutter.module_name }}.serving.config import Settings, SettingsError
from {{ cookiecutter.module_name }}.serving.predict import JsonEndpoint, PredictEndpoint
from {{ cookiecutter.module_name }}.serving.validation import SET_CHECK_LIMIT
from stage_workspace import PROJECT_ROOT

MAX_ROWS = 5
MAX_BYTES = 2000
TOLERANCE = 1e-5  # probabilities are rounded to 6 decimals
GOOD_ROW = {"signal": 0.9, "noise": -0.2, "count": 4}
PROJECT_SRC = PROJECT_ROOT / "src"


def settings_for(directory, **overrides) -> Settings:
    return Settings(**{"model_path": directory / "models" / "model.onnx",
                       "schema_path": directory / "models" / "schema.json",
                       "max_batch_rows": MAX_ROWS, "max_body_bytes": MAX_BYTES, **overrides})


@pytest.fixture(scope="module")
def client(trained_model):
    return TestClient(create_app(settings_for(trained_model)))


def post(client, body, content_type="application/json"):
    if not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    return client.post("/predict", content=body, headers={"content-type": content_type})


def expected(trained_model, rows):
    model = joblib.load(trained_model / "models" / "model.joblib")
    frame = pd.DataFrame(rows, columns=list(GOOD_ROW), dtype=float)
    return model.predict(frame).tolist(), model.predict_proba(frame)


def test_health_ready_and_predict_without_a_model(tmp_path):
    app_client = TestClient(create_app(settings_for(tmp_path)))
    assert app_client.get("/health").json() == {"status": "ok"}
    ready = app_client.get("/ready")
    assert ready.status_code == 503
    assert "model.onnx: file not found" in ready.json()["detail"]
    response = post(app_client, GOOD_ROW)
    assert response.status_code == 503 and "model not loaded" in response.json()["detail"]


def test_ready_names_the_model_version(client, trained_model):
    onnx_bytes = (trained_model / "models" / "model.onnx").read_bytes()
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready",
                               "model_version": hashlib.sha256(onnx_bytes).hexdigest()[:12]}


def test_model_version_comes_from_the_environment_when_set(trained_model):
    app_client = TestClient(create_app(settings_for(trained_model, model_version="3f2c9e1")))
    assert post(app_client, GOOD_ROW).json()["model_version"] == "3f2c9e1"


def test_one_row_as_an_object(client, trained_model):
    response = post(client, GOOD_ROW)
    assert response.status_code == 200
    body = response.json()
    labels, probabilities = expected(trained_model, [GOOD_ROW])
    assert body["classes"] == [0, 1]
    assert body["predictions"] == labels
    np.testing.assert_allclose(body["probabilities"], probabilities, atol=TOLERANCE)


def test_a_batch_as_a_list_matches_sklearn(client, trained_model):
    test_rows = pd.read_csv(trained_model / "data" / "prepared" / "test.csv")
    rows = test_rows.drop(columns=["target"]).head(MAX_ROWS).to_dict(orient="records")
    body = post(client, rows).json()
    labels, probabilities = expected(trained_model, rows)
    assert body["predictions"] == labels
    np.testing.assert_allclose(body["probabilities"], probabilities, atol=TOLERANCE)


def test_null_means_missing_and_is_imputed_as_in_training(client, trained_model):
    row = {**GOOD_ROW, "signal": None}
    body = post(client, row).json()
    labels, probabilities = expected(trained_model, [{**GOOD_ROW, "signal": np.nan}])
    assert body["predictions"] == labels
    np.testing.assert_allclose(body["probabilities"], probabilities, atol=TOLERANCE)


def with_token(field: str, token: str) -> str:
    """A body the json module can write only by hand: a bare token as a value."""
    return json.dumps({**GOOD_ROW, field: "TOKEN"}).replace('"TOKEN"', token)


BAD_REQUESTS = {
    "missing field": ({k: v for k, v in GOOD_ROW.items() if k != "noise"}, "application/json",
                      422, "rows[0]: missing fields 'noise'"),
    "unknown field": ({**GOOD_ROW, "colour": 3}, "application/json",
                      422, "rows[0]: unknown fields 'colour'"),
    "string value": ({**GOOD_ROW, "signal": "0.9"}, "application/json",
                     422, "rows[0].signal: expected a finite number or null, got string"),
    "boolean value": ({**GOOD_ROW, "count": True}, "application/json",
                      422, "rows[0].count: expected a finite number or null, got boolean"),
    "nested value": ({**GOOD_ROW, "noise": [1]}, "application/json",
                     422, "rows[0].noise: expected a finite number or null, got array"),
    "NaN": (with_token("signal", "NaN"), "application/json",
            422, "rows[0].signal: expected a finite number or null, got NaN"),
    "Infinity": (with_token("noise", "Infinity"), "application/json",
                 422, "rows[0].noise: expected a finite number or null, got Infinity"),
    "-Infinity": (with_token("noise", "-Infinity"), "application/json",
                  422, "rows[0].noise: expected a finite number or null, got -Infinity"),
    "number overflowing to infinity": (with_token("signal", "1e999"), "application/json",
                                       422, "rows[0].signal: expected a finite number"),
    "fraction for an integer feature": ({**GOOD_ROW, "count": 2.5}, "application/json",
                                        422, "rows[0].count: expected an integer, got 2.5"),
    "bad second row": ([GOOD_ROW, {**GOOD_ROW, "signal": "x"}], "application/json",
                       422, "rows[1].signal: expected a finite number or null, got string"),
    "row not an object": ([GOOD_ROW, 7], "application/json",
                          422, "rows[1]: expected an object keyed by feature name, got number"),
    "body a scalar": ("3", "application/json",
                      422, "body must be an object keyed by feature name or a list of them"),
    "empty list": ([], "application/json", 422, "body is an empty list"),
    "batch above MAX_BATCH_ROWS": ([GOOD_ROW] * (MAX_ROWS + 1), "application/json",
                                   413, f"{MAX_ROWS + 1} rows in one request; the limit is "
                                        f"{MAX_ROWS} (MAX_BATCH_ROWS)"),
    "malformed JSON": ('{"signal": 0.9,', "application/json", 400, "malformed JSON"),
    "not UTF-8": (b'{"signal": "\xff"}', "application/json", 400, "malformed JSON"),
    "wrong content type": (GOOD_ROW, "text/plain", 415, "Content-Type must be application/json"),
    "body above MAX_BODY_BYTES": ([GOOD_ROW] * 60, "application/json",
                                  413, f"exceeds {MAX_BYTES} (MAX_BODY_BYTES)"),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_bad_request_gets_a_4xx_naming_the_problem(client, case):
    body, content_type, status, detail = BAD_REQUESTS[case]
    response = post(client, body, content_type)
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]


# Valid bodies that msgspec reads (serving/typed_decoding.py); the general
# path (serving/validation.py) must read each to the same matrix.
VALID_BODIES = {
    "one object": json.dumps(GOOD_ROW),
    "a list of rows": json.dumps([GOOD_ROW, {**GOOD_ROW, "signal": -3}]),
    "nulls": json.dumps({**GOOD_ROW, "noise": None, "count": None}),
    "a whole float for an integer feature": json.dumps({**GOOD_ROW, "count": 4.0}),
    "a repeated field: the last counts": '{"signal": 7, "noise": 0.1, "count": 2, "signal": 0.5}',
    "an integer beyond 64 bits": json.dumps({**GOOD_ROW, "signal": 10 ** 30}),
    "the smallest subnormal": json.dumps({**GOOD_ROW, "noise": 5e-324}),
}


@pytest.mark.parametrize("body", VALID_BODIES.values(), ids=VALID_BODIES)
def test_the_fast_and_the_general_path_read_a_valid_body_alike(client, body, monkeypatch):
    endpoint = client.app.endpoints["/predict"]
    general, _ = JsonEndpoint.matrix_of(endpoint, body.encode(), {})
    # From here the general path raises NotImplementedError (JsonEndpoint.read).
    monkeypatch.delattr(PredictEndpoint, "read")
    fast, _ = endpoint.matrix_of(body.encode(), {})
    np.testing.assert_array_equal(fast, general)


def test_missing_content_type_is_415(client):
    response = client.post("/predict", content=json.dumps(GOOD_ROW))
    assert response.status_code == 415


def test_oversized_chunked_body_without_a_length_is_413(client):
    chunks = (json.dumps([GOOD_ROW] * 20).encode() for _ in range(3))
    response = client.post("/predict", content=chunks,
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert f"body exceeds {MAX_BYTES} bytes" in response.json()["detail"]


def test_get_on_predict_is_405_naming_post(client):
    response = client.get("/predict")
    assert response.status_code == 405 and response.headers["allow"] == "POST"


@pytest.fixture(scope="module")
def roomy_client(trained_model):
    """Takes bodies of the default MAX_BODY_BYTES."""
    return TestClient(create_app(settings_for(trained_model, max_body_bytes=2_000_000)))


def test_a_row_with_more_fields_than_features_names_only_the_first_unknown_ones(roomy_client):
    row = {**{f"k{i}": 0 for i in range(150_000)}, **GOOD_ROW}
    detail = post(roomy_client, row).json()["detail"]
    assert detail == ("rows[0]: unknown fields 'k0', 'k1', 'k2', 'k3', 'k4', ... "
                      "(150003 fields; the model takes 3)")


def test_server_keeps_serving_after_bad_requests(client):
    for body, content_type, _, _ in BAD_REQUESTS.values():
        assert post(client, body, content_type).status_code < 500
    assert post(client, GOOD_ROW).status_code == 200


def metric(text: str, sample: str) -> float:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{sample} not in /metrics:\n{text}")


def test_metrics_count_requests_classes_and_out_of_range_values(trained_model):
    app_client = TestClient(create_app(settings_for(trained_model)))
    assert post(app_client, [GOOD_ROW, {**GOOD_ROW, "signal": 40.0}]).status_code == 200
    assert post(app_client, []).status_code == 422
    text = app_client.get("/metrics").text
    assert metric(text, 'http_requests_total{route="/predict",status="200"}') == 1
    assert metric(text, 'http_requests_total{route="/predict",status="422"}') == 1
    assert metric(text, 'http_request_duration_seconds_count{route="/predict"}') == 2
    predicted = [metric(text, 'model_predictions_total{class="%s"}' % label) for label in (0, 1)]
    assert sum(predicted) == 2
    assert metric(text, 'model_feature_out_of_range_total{feature="signal"}') == 1
    assert metric(text, 'model_feature_out_of_range_total{feature="noise"}') == 0


def test_an_integer_of_5000_digits_is_named_without_python_internals(roomy_client):
    # Python's int() refuses over 4300 digits, in words naming sys.set_int_max_str_digits().
    response = post(roomy_client, with_token("signal", "9" * 5000))
    assert response.status_code == 422
    assert response.json()["detail"] == ("rows[0].signal: expected a finite number, "
                                         "got a value out of range")


def test_a_value_out_of_range_is_named_in_a_large_batch_too(trained_model):
    # Past SET_CHECK_LIMIT values, numpy looks for infinities instead of a set.
    client = TestClient(create_app(settings_for(trained_model, max_batch_rows=100,
                                                max_body_bytes=2_000_000)))
    rows = [GOOD_ROW] * 30 + [{**GOOD_ROW, "noise": "TOKEN"}] + [GOOD_ROW] * 9
    assert len(rows) * len(GOOD_ROW) > SET_CHECK_LIMIT
    response = post(client, json.dumps(rows).replace('"TOKEN"', "-1e999"))
    assert response.status_code == 422
    assert response.json()["detail"] == ("rows[30].noise: expected a finite number, "
                                         "got a value out of range")


def test_one_request_fills_at_most_a_tenth_of_the_drift_window(trained_model):
    settings = settings_for(trained_model, drift_window_rows=20, reference_profile_path=(
        trained_model / "models" / "reference_profile.json"))
    app_client = TestClient(create_app(settings))
    assert post(app_client, [GOOD_ROW] * MAX_ROWS).status_code == 200
    assert metric(app_client.get("/metrics").text, "model_drift_window_rows") == 2


def test_unknown_paths_share_one_metrics_label(client):
    assert client.get("/no-such-page").status_code == 404
    assert 'route="other",status="404"' in client.get("/metrics").text


def test_openapi_documents_the_request_body(client):
    assert client.get("/docs").status_code == 200
    operation = client.get("/openapi.json").json()["paths"]["/predict"]["post"]
    body = operation["requestBody"]["content"]["application/json"]
    assert body["schema"]["oneOf"][0]["required"] == ["signal", "noise", "count"]
    assert set(body["example"]) == set(GOOD_ROW)
    assert {"200", "400", "413", "415", "422", "503"} <= set(operation["responses"])


def test_settings_come_from_the_environment():
    settings = Settings.from_env({"MAX_BATCH_ROWS": "10", "PORT": "9000",
                                  "BODY_TIMEOUT_SECONDS": "2.5", "MODEL_NAME": "m"})
    assert (settings.max_batch_rows, settings.port, settings.max_body_bytes) == (10, 9000, 2000000)
    assert (settings.body_timeout, settings.header_timeout, settings.model_name) == (2.5, 10, "m")
    with pytest.raises(SettingsError, match="MAX_BATCH_ROWS='lots': must be a whole number"):
        Settings.from_env({"MAX_BATCH_ROWS": "lots"})
    with pytest.raises(SettingsError, match="HEADER_TIMEOUT_SECONDS='0': must be above 0"):
        Settings.from_env({"HEADER_TIMEOUT_SECONDS": "0"})


def test_serving_imports_no_training_libraries():
    code = ("import sys, {{ cookiecutter.module_name }}.serving.__main__; "
            "print(sorted({'sklearn', 'pandas', 'dvc', 'skl2onnx'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, env={**os.environ, "PYTHONPATH": str(PROJECT_SRC)})
    assert result.stdout.strip() == "[]"

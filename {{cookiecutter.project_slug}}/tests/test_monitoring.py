"""Drift metrics of the serving app, and the monitoring/ files that use them."""
import json
import re
import shutil

import pytest
import yaml
from fastapi.testclient import TestClient

from {{ cookiecutter.module_name }}.serving.app import create_app
from {{ cookiecutter.module_name }}.serving.config import Settings, SettingsError
from stage_workspace import PROJECT_ROOT, make_frame

NAMES = ["signal", "noise", "count"]
PSI_SAMPLE = re.compile(r'^model_feature_drift_psi\{feature="(\w+)"\} (\S+)$', re.M)


def app_for(directory, **overrides):
    return create_app(Settings(
        model_path=directory / "models" / "model.onnx",
        schema_path=directory / "models" / "schema.json",
        reference_profile_path=directory / "models" / "reference_profile.json",
        max_batch_rows=1000, **overrides))


def send(client, frame, rows_per_request: int = 5) -> None:
    """Post the rows in small requests, as live traffic comes: one request fills
    at most a tenth of the drift window."""
    records = frame[NAMES].to_dict(orient="records")
    for start in range(0, len(records), rows_per_request):
        response = client.post("/predict", json=records[start:start + rows_per_request])
        assert response.status_code == 200, response.text


def drift_of(client) -> tuple:
    """PSI per feature and the window's row count, as Prometheus would scrape them."""
    text = client.get("/metrics").text
    psi = {feature: float(value) for feature, value in PSI_SAMPLE.findall(text)}
    rows = re.search(r"^model_drift_window_rows (\S+)$", text, re.M)
    return psi, float(rows.group(1)) if rows else None


def test_drift_stays_low_for_training_like_rows_and_rises_for_a_shifted_feature(trained_model):
    client = TestClient(app_for(trained_model, drift_window_rows=300))
    assert drift_of(client) == ({name: 0.0 for name in NAMES}, 0.0)
    like_training = make_frame(rows=300, seed=7)
    send(client, like_training)
    psi, rows = drift_of(client)
    assert rows == 300 and max(psi.values()) < 0.25, psi
    shifted = like_training.assign(noise=like_training["noise"] + 5)
    send(client, shifted)
    psi, rows = drift_of(client)
    assert rows == 300
    assert psi["noise"] > 1.0 and psi["signal"] < 0.25 and psi["count"] < 0.25, psi


def test_window_memory_is_fixed_however_many_rows_arrive(trained_model):
    app = app_for(trained_model, drift_window_rows=50)
    client = TestClient(app)
    window = app.metrics.drift.window
    memory = window.values.nbytes
    for seed in range(5):
        send(client, make_frame(rows=40, seed=seed))
    assert drift_of(client)[1] == 50
    assert window.values.nbytes == memory and window.values.shape == (50, len(NAMES))
    assert [int(counts.sum()) for counts in window.counts] == [50] * len(NAMES)


def test_a_missing_value_is_left_out_of_its_feature_only(trained_model):
    app = app_for(trained_model)
    client = TestClient(app)
    row = {"signal": 0.5, "noise": 0.1, "count": 3}
    response = client.post("/predict", json=[row, {**row, "noise": None}])
    assert response.status_code == 200
    assert drift_of(client)[1] == 2
    assert [int(counts.sum()) for counts in app.metrics.drift.window.counts] == [2, 1, 2]


def test_tracking_off_exports_no_drift_metrics(trained_model):
    client = TestClient(app_for(trained_model, drift_tracking=False))
    send(client, make_frame(rows=20))
    assert drift_of(client) == ({}, None)
    assert "model_predictions_total" in client.get("/metrics").text


def test_without_a_profile_the_app_serves_and_says_why(trained_model, tmp_path, caplog):
    for name in ("model.onnx", "schema.json"):
        (tmp_path / "models").mkdir(exist_ok=True)
        shutil.copy(trained_model / "models" / name, tmp_path / "models" / name)
    client = TestClient(app_for(tmp_path))
    send(client, make_frame(rows=5))
    assert drift_of(client) == ({}, None)
    assert "reference_profile.json not found: drift metrics not exported" in caplog.text


def test_drift_settings_come_from_the_environment():
    settings = Settings.from_env({"DRIFT_TRACKING": "false", "DRIFT_WINDOW_ROWS": "500"})
    assert (settings.drift_tracking, settings.drift_window_rows) == (False, 500)
    assert Settings.from_env({}).drift_tracking is True
    with pytest.raises(SettingsError, match="DRIFT_TRACKING='maybe': must be true or false"):
        Settings.from_env({"DRIFT_TRACKING": "maybe"})


def metric_names(expr: str) -> set:
    """Metric names a PromQL expression reads (labels, ranges, functions removed)."""
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\b\d+(\.\d+)?\b", " ", expr)
    names = set(re.findall(r"\b([a-zA-Z_:][\w:]*)\b(?!\s*\()", expr))
    return {re.sub(r"_(bucket|sum|count)$", "", name) for name in names
            - {"and", "or", "unless", "bool", "offset"}}


def test_every_dashboard_and_alert_query_reads_metrics_the_app_exports(trained_model):
    client = TestClient(app_for(trained_model))
    send(client, make_frame(rows=5))
    text = client.get("/metrics").text
    exported = set(re.findall(r"^# TYPE (\S+)", text, re.M))
    exported |= {name + "_total" for name in exported}  # counters' sample names
    dashboard = json.loads((PROJECT_ROOT / "monitoring" / "grafana-dashboard.json").read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(queries) >= 6
    rules = yaml.safe_load((PROJECT_ROOT / "monitoring" / "prometheus-rules.yml").read_text())
    queries += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    for expr in queries:
        names = metric_names(expr)
        assert names and names <= exported, (expr, names - exported)

"""The generated monitoring/ files, checked with the real tools.

promtool validates and unit-tests the alert rules. Then the generated API
serves the trained default model on 127.0.0.1 and a real Prometheus scrapes it
every second with the generated rules loaded: in-distribution traffic keeps
drift below the threshold, a shifted feature raises its PSI past it and the
FeatureDrift alert goes pending, all read through Prometheus's HTTP API.
"""
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import bake, project_env, run

MODULE = "tumor_classifier"
THRESHOLD_KEY = "drift_psi_threshold"
WAIT_SECONDS = 60


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return bake(tmp_path_factory.mktemp("monitoring"))


@pytest.fixture(scope="module")
def monitoring_params(project) -> dict:
    return yaml.safe_load((project / "params.yaml").read_text())["monitoring"]


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


# --- static checks with promtool ------------------------------------------------

def test_promtool_accepts_the_rules_file(project):
    result = run(["promtool", "check", "rules", "monitoring/prometheus-rules.yml"], project)
    assert "SUCCESS: 4 rules found" in result.stdout


def test_promtool_accepts_the_prometheusrule_groups(project, tmp_path):
    operator = load_yaml(project / "monitoring" / "prometheusrule.yaml")
    assert (operator["apiVersion"], operator["kind"]) == (
        "monitoring.coreos.com/v1", "PrometheusRule")
    groups = tmp_path / "groups.yml"
    groups.write_text(yaml.safe_dump(operator["spec"]))
    result = run(["promtool", "check", "rules", str(groups)], project)
    assert "SUCCESS: 4 rules found" in result.stdout


def test_prometheusrule_holds_exactly_the_rules_file(project):
    plain = load_yaml(project / "monitoring" / "prometheus-rules.yml")
    operator = load_yaml(project / "monitoring" / "prometheusrule.yaml")
    assert operator["spec"] == plain
    alerts = [rule["alert"] for rule in plain["groups"][0]["rules"]]
    assert alerts == ["HighErrorRate", "HighLatencyP99", "FeatureDrift", "NoTraffic"]


def test_rule_thresholds_are_params_yaml_values(project, monitoring_params):
    rules = {rule["alert"]: rule for rule in
             load_yaml(project / "monitoring" / "prometheus-rules.yml")["groups"][0]["rules"]}
    expected = {"HighErrorRate": ("error_rate", "error_minutes"),
                "HighLatencyP99": ("p99_latency_seconds", "latency_minutes"),
                "FeatureDrift": ("drift_psi_threshold", "drift_minutes")}
    for alert, (threshold, minutes) in expected.items():
        assert f"> {monitoring_params[threshold]}" in rules[alert]["expr"]
        assert rules[alert]["for"] == f"{monitoring_params[minutes]}m"
    assert rules["NoTraffic"]["for"] == f"{monitoring_params['no_traffic_minutes']}m"
    assert f">= {monitoring_params['drift_min_window_rows']}" in rules["FeatureDrift"]["expr"]


def test_promtool_unit_tests_fire_and_stay_silent(project):
    result = run(["promtool", "test", "rules", "monitoring/rules-test.yml"], project)
    assert "SUCCESS" in result.stdout
    tests = load_yaml(project / "monitoring" / "rules-test.yml")["tests"]
    for alert in ("HighErrorRate", "HighLatencyP99", "FeatureDrift", "NoTraffic"):
        checks = [check for test in tests for check in test["alert_rule_test"]
                  if check["alertname"] == alert]
        assert any(check["exp_alerts"] for check in checks), f"{alert} never fires"
        assert any(not check["exp_alerts"] for check in checks), f"{alert} never silent"


def test_a_broken_expectation_makes_promtool_fail(project, tmp_path):
    """The unit tests can fail: a drift alert expected on the stable feature does."""
    text = (project / "monitoring" / "rules-test.yml").read_text()
    broken = text.replace("feature: shifted}", "feature: stable}")
    assert broken != text
    (tmp_path / "rules-test.yml").write_text(broken)
    (tmp_path / "prometheus-rules.yml").write_text(
        (project / "monitoring" / "prometheus-rules.yml").read_text())
    result = run(["promtool", "test", "rules", "rules-test.yml"], tmp_path, check=False)
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr


def test_servicemonitor_selects_the_service_port_and_path(project, monitoring_params):
    monitor = load_yaml(project / "monitoring" / "servicemonitor.yaml")
    service = load_yaml(project / "deploy" / "base" / "service.yaml")
    assert monitor["kind"] == "ServiceMonitor"
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    endpoint, = monitor["spec"]["endpoints"]
    assert endpoint["port"] in [port["name"] for port in service["spec"]["ports"]]
    assert endpoint["path"] == "/metrics"
    # The Operator names the job after the Service; the rules select that job.
    assert service["metadata"]["name"] == monitoring_params["job"]


def test_kustomize_base_leaves_operator_resources_out(project):
    """Clusters without the Prometheus Operator must still apply deploy/ as is."""
    base = load_yaml(project / "deploy" / "base" / "kustomization.yaml")
    assert not any("monitoring" in resource for resource in base["resources"])


# --- a real Prometheus scraping the real app --------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def wait_for(what: str, check, timeout: float = WAIT_SECONDS, process=None):
    """Poll ``check`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if process is not None and process.poll() is not None:
            pytest.fail(f"{what}: process exited with {process.returncode}:\n"
                        f"{process.stdout.read()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.25)


def start(command, cwd: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def serving(what: str, command, cwd: Path, env: dict, port: int, ready_path: str):
    """Start a server on 127.0.0.1:port, wait until ready_path answers 200,
    yield its URL, and always stop it."""
    process = start(command, cwd, env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{what} to be ready",
                 lambda: urllib.request.urlopen(url + ready_path, timeout=2).status == 200,
                 process=process)
        yield url
    finally:
        stop(process)


@pytest.fixture(scope="module")
def trained(project) -> Path:
    run(["make", "repro", "PYTHON=python"], project)
    return project


@pytest.fixture(scope="module")
def api(trained):
    port = free_port()
    env = {**project_env(trained), "PORT": str(port), "HOST": "127.0.0.1"}
    with serving("the API", [sys.executable, "-m", f"{MODULE}.serving"], trained, env,
                 port, "/ready") as url:
        yield url


@pytest.fixture(scope="module")
def prometheus(trained, api, tmp_path_factory):
    """Prometheus with the project's example config, scraping the API every second."""
    work = tmp_path_factory.mktemp("prometheus")
    config = load_yaml(trained / "monitoring" / "prometheus.yml")
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(trained / "monitoring" / rule) for rule in config["rule_files"]]
    config["scrape_configs"][0]["static_configs"] = [
        {"targets": [urllib.parse.urlsplit(api).netloc]}]
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    command = ["prometheus", f"--config.file={work / 'prometheus.yml'}",
               f"--storage.tsdb.path={work / 'data'}", f"--web.listen-address=127.0.0.1:{port}"]
    with serving("Prometheus", command, work, dict(os.environ), port, "/-/ready") as url:
        yield url


def query(prometheus: str, expr: str) -> list:
    answer = get_json(f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def post_rows(api: str, frame: pd.DataFrame, batch: int = 100) -> None:
    records = frame.to_dict(orient="records")
    for start_row in range(0, len(records), batch):
        body = json.dumps(records[start_row:start_row + batch]).encode()
        request = urllib.request.Request(api + "/predict", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200


def alert_exprs(project: Path) -> dict:
    rules = load_yaml(project / "monitoring" / "prometheus-rules.yml")["groups"][0]["rules"]
    return {rule["alert"]: rule["expr"] for rule in rules}


def window_rows(prometheus: str, job: str):
    result = query(prometheus, f'model_drift_window_rows{{job="{job}"}}')
    return float(result[0]["value"][1]) if result else None


def test_drift_rises_past_the_threshold_in_prometheus_and_the_alert_goes_pending(
        trained, api, prometheus, monitoring_params):
    job, threshold = monitoring_params["job"], monitoring_params[THRESHOLD_KEY]
    exprs = alert_exprs(trained)
    rules = get_json(prometheus + "/api/v1/rules")["data"]["groups"][0]["rules"]
    assert sorted(rule["name"] for rule in rules) == sorted(exprs)
    window = 1000  # the API's default DRIFT_WINDOW_ROWS
    test = pd.read_csv(trained / "data" / "prepared" / "test.csv").drop(columns=["target"])
    held_out = pd.concat([test] * (window // len(test) + 1), ignore_index=True)[:window]

    # A counter's first sample is its baseline: let Prometheus see the /predict
    # series once, so the rest of the traffic shows up as a rate.
    predicted = f'http_requests_total{{job="{job}",route="/predict"}}'
    post_rows(api, held_out[:100])
    wait_for("the /predict counter in Prometheus", lambda: query(prometheus, predicted))
    post_rows(api, held_out[100:])
    wait_for("the full window in Prometheus", lambda: window_rows(prometheus, job) == window)
    psi = {item["metric"]["feature"]: float(item["value"][1])
           for item in query(prometheus, f'model_feature_drift_psi{{job="{job}"}}')}
    assert set(psi) == set(test.columns)
    assert max(psi.values()) < threshold, psi
    assert query(prometheus, exprs["FeatureDrift"]) == []
    wait_for("predict traffic to register",
             lambda: query(prometheus, f"rate({predicted}[5m]) > 0"))
    for alert in ("HighErrorRate", "HighLatencyP99", "NoTraffic"):
        assert query(prometheus, exprs[alert]) == [], alert

    # Five training standard deviations up: every row lands above the top bin.
    shifted_feature = test.columns[0]
    train = pd.read_csv(trained / "data" / "prepared" / "train.csv")
    drifted = held_out.assign(**{
        shifted_feature: held_out[shifted_feature] + 5 * train[shifted_feature].std()})
    post_rows(api, drifted)
    firing = wait_for("the FeatureDrift expression to hold",
                      lambda: query(prometheus, exprs["FeatureDrift"]))
    assert [item["metric"]["feature"] for item in firing] == [shifted_feature]
    assert float(firing[0]["value"][1]) > threshold

    def drift_alert():
        alerts = get_json(prometheus + "/api/v1/alerts")["data"]["alerts"]
        return [alert for alert in alerts if alert["labels"]["alertname"] == "FeatureDrift"]

    alert, = wait_for("the FeatureDrift alert", drift_alert)
    # `for:` is minutes long: the alert is pending, i.e. its condition holds.
    assert alert["state"] == "pending"
    assert alert["labels"]["feature"] == shifted_feature
    assert shifted_feature in alert["annotations"]["summary"]


def metric_names(expr: str) -> set:
    """Metric names a PromQL expression reads (labels, ranges, functions removed)."""
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\b\d+(\.\d+)?\b", " ", expr)
    names = set(re.findall(r"\b([a-zA-Z_:][\w:]*)\b(?!\s*\()", expr))
    return {re.sub(r"_(bucket|sum|count)$", "", name) for name in names
            - {"and", "or", "unless", "bool", "offset"}}


def test_metric_names_parser():
    assert metric_names('histogram_quantile(0.99, sum by (job, le) (rate('
                        'http_request_duration_seconds_bucket{route="/predict"}[5m])))') == {
        "http_request_duration_seconds"}
    assert metric_names("a_total{x=\"1\"} / on (job) b > 0.25 and c") == {"a_total", "b", "c"}


def test_every_dashboard_and_alert_query_names_a_live_metric(trained, api):
    with urllib.request.urlopen(api + "/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {re.sub(r"_(bucket|sum|count)$", "", line.split("{")[0].split(" ")[0])
               for line in text.splitlines() if line and not line.startswith("#")}
    dashboard = json.loads((trained / "monitoring" / "grafana-dashboard.json").read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    titles = " ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for topic in ("request rate", "latency", "error rate", "class", "drift", "range"):
        assert topic in titles, topic
    queries += list(alert_exprs(trained).values())
    for expr in queries:
        names = metric_names(expr)
        assert names, expr
        assert names <= samples, f"{expr}: {sorted(names - samples)} not in /metrics"

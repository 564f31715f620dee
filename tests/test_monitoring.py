"""The generated monitoring/ files, checked with the real tools.

promtool validates and unit-tests the alert rules. Then the generated API
serves the trained default model on 127.0.0.1 and a real Prometheus scrapes it
every second with the generated rules loaded: in-distribution traffic keeps
drift below the threshold, a shifted feature raises its PSI past it and the
FeatureDrift alert goes pending, all read through Prometheus's HTTP API.
"""
import contextlib
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from support.project import bake, broken_copy, project_env, run
from support.manifests import kubernetes_validate, render
from support.alert_chain import (
    CI_TOKEN, DISPATCH_PATH, MODULE, WINDOW_ROWS, alert_chain, drift_traffic, post_rows,
    prometheus_config)
from support.alert_chain import prometheus as run_prometheus
from support.processes import free_port, get_json, serving, wait_for

THRESHOLD_KEY = "drift_psi_threshold"


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
    monitoring = broken_copy(project / "monitoring", tmp_path / "monitoring", "rules-test.yml",
                             "feature: shifted}", "feature: stable}")
    result = run(["promtool", "test", "rules", "rules-test.yml"], monitoring, check=False)
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

@pytest.fixture(scope="module")
def trained(project) -> Path:
    run(["make", "repro", "PYTHON=python"], project)
    return project


@contextlib.contextmanager
def api_server(project: Path):
    port = free_port()
    env = {**project_env(project), "PORT": str(port), "HOST": "127.0.0.1"}
    with serving("the API", [sys.executable, "-m", f"{MODULE}.serving"], project, env,
                 port, "/ready") as url:
        yield url


@pytest.fixture(scope="module")
def api(trained):
    with api_server(trained) as url:
        yield url


@pytest.fixture(scope="module")
def prometheus(trained, api, tmp_path_factory):
    """Prometheus with the project's example config, scraping the API every second."""
    work = tmp_path_factory.mktemp("prometheus")
    with run_prometheus(prometheus_config(trained, work, api), work) as url:
        yield url


def query(prometheus: str, expr: str) -> list:
    answer = get_json(f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


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
    window = WINDOW_ROWS
    held_out, drifted, shifted_feature = drift_traffic(trained)

    # A counter's first sample is its baseline: let Prometheus see the /predict
    # series once, so the rest of the traffic shows up as a rate.
    predicted = f'http_requests_total{{job="{job}",route="/predict"}}'
    post_rows(api, held_out[:100])
    wait_for("the /predict counter in Prometheus", lambda: query(prometheus, predicted))
    post_rows(api, held_out[100:])
    wait_for("the full window in Prometheus", lambda: window_rows(prometheus, job) == window)
    psi = {item["metric"]["feature"]: float(item["value"][1])
           for item in query(prometheus, f'model_feature_drift_psi{{job="{job}"}}')}
    assert set(psi) == set(held_out.columns)
    assert max(psi.values()) < threshold, psi
    assert query(prometheus, exprs["FeatureDrift"]) == []
    wait_for("predict traffic to register",
             lambda: query(prometheus, f"rate({predicted}[5m]) > 0"))
    for alert in ("HighErrorRate", "HighLatencyP99", "NoTraffic"):
        assert query(prometheus, exprs[alert]) == [], alert

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


# --- Alertmanager and the retrain relay -------------------------------------------

RELAY_COOLDOWN_SECONDS = 6


def test_amtool_accepts_the_alertmanager_config(project):
    result = run(["amtool", "check-config", "monitoring/alertmanager.yml"], project)
    assert "SUCCESS" in result.stdout


def test_only_alerts_marked_for_retraining_reach_the_relay(project):
    """Each shipped alert, with its labels, routed by amtool through the shipped config."""
    rules = load_yaml(project / "monitoring" / "prometheus-rules.yml")["groups"][0]["rules"]
    for rule in rules:
        labels = {"alertname": rule["alert"], "job": "x", **rule["labels"]}
        result = run(["amtool", "config", "routes", "test",
                      "--config.file=monitoring/alertmanager.yml",
                      *(f"{name}={value}" for name, value in labels.items())], project)
        expected = "retrain-relay" if rule["alert"] == "FeatureDrift" else "null"
        assert result.stdout.strip() == expected, rule["alert"]


def test_alertmanagerconfig_routes_like_alertmanager_yml(project):
    plain = load_yaml(project / "monitoring" / "alertmanager.yml")
    route, = plain["route"]["routes"]
    receiver = next(item for item in plain["receivers"] if item["name"] == route["receiver"])
    webhook, = receiver["webhook_configs"]
    operator = load_yaml(project / "monitoring" / "alertmanagerconfig.yaml")
    assert (operator["apiVersion"], operator["kind"]) == (
        "monitoring.coreos.com/v1alpha1", "AlertmanagerConfig")
    spec_route = operator["spec"]["route"]
    assert route["matchers"] == [f'{m["name"]}{m["matchType"]}"{m["value"]}"'
                                 for m in spec_route["matchers"]]
    for plain_key, operator_key in (("group_by", "groupBy"), ("group_wait", "groupWait"),
                                    ("group_interval", "groupInterval"),
                                    ("repeat_interval", "repeatInterval")):
        assert route[plain_key] == spec_route[operator_key], plain_key
    spec_receiver, = operator["spec"]["receivers"]
    assert spec_receiver["name"] == spec_route["receiver"]
    spec_webhook, = spec_receiver["webhookConfigs"]
    assert spec_webhook["sendResolved"] == webhook["send_resolved"] is False
    assert spec_webhook["maxAlerts"] == webhook["max_alerts"]
    assert spec_webhook["httpConfig"]["authorization"]["type"] == "Bearer"
    plain_url = urllib.parse.urlsplit(webhook["url"])
    operator_url = urllib.parse.urlsplit(spec_webhook["url"])
    assert (operator_url.path, operator_url.port) == (plain_url.path, plain_url.port)


def test_relay_manifests_are_valid_and_are_what_alertmanager_calls(project):
    objects = render(project / "monitoring" / "retrain-relay")
    result = kubernetes_validate(objects)
    assert result.returncode == 0, result.stdout + result.stderr
    deployment, service = sorted(objects, key=lambda obj: obj["kind"])
    operator = load_yaml(project / "monitoring" / "alertmanagerconfig.yaml")
    secret = operator["spec"]["receivers"][0]["webhookConfigs"][0]["httpConfig"][
        "authorization"]["credentials"]
    url = urllib.parse.urlsplit(operator["spec"]["receivers"][0]["webhookConfigs"][0]["url"])
    assert url.hostname == service["metadata"]["name"]
    service_port, = service["spec"]["ports"]
    assert url.port == service_port["port"]
    assert service["spec"]["selector"].items() <= (
        deployment["spec"]["template"]["metadata"]["labels"].items())
    container, = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", f"{MODULE}.relay"]
    # The serving image, i.e. the Makefile's IMAGE (tag: see kustomization.yaml).
    assert container["image"] == "ghcr.io/my-org/tumor-classifier:latest"
    env = {item["name"]: item for item in container["env"]}
    assert env["RELAY_TOKEN"]["valueFrom"]["secretKeyRef"] == secret
    # The repository the relay triggers, from the repo_url answer.
    assert env["TRIGGER_PROJECT"]["value"] == "my-org/tumor-classifier"
    # The relay listens on its default port, which the Service targets by name.
    assert container["ports"][0]["containerPort"] == url.port == 9095
    dockerfile = (project / "Dockerfile").read_text()
    assert f"COPY src/{MODULE}/relay/ src/{MODULE}/relay/" in dockerfile


def test_a_drift_alert_starts_one_ci_run_per_cooldown(trained, tmp_path):
    """Shifted traffic -> PSI -> FeatureDrift fires in Prometheus -> Alertmanager ->
    relay -> GitHub's workflow_dispatch at the stand-in, once per cool-down while
    Alertmanager keeps repeating the notification (short intervals here;
    bench/bench_retrain.py measures the shipped ones)."""
    _, drifted, feature = drift_traffic(trained)
    with api_server(trained) as api, alert_chain(
            trained, tmp_path, api, RELAY_COOLDOWN_SECONDS) as chain:
        post_rows(api, drifted)
        first, = chain.ci_api.wait_for(1, timeout=90)
        assert (first.method, first.path) == ("POST", DISPATCH_PATH)
        assert first.headers["Authorization"] == f"Bearer {CI_TOKEN}"
        assert first.headers["Accept"] == "application/vnd.github+json"
        assert first.headers["X-GitHub-Api-Version"] == "2022-11-28"
        assert first.json() == {"ref": "main", "inputs": {"reason": f"FeatureDrift ({feature})"}}
        # Alertmanager repeats every ~2 s; the relay starts the next run only
        # once the cool-down is over.
        second = chain.ci_api.wait_for(2, timeout=60)[1]
        assert second.json() == first.json()
        # The cool-down counts from when the relay sent the first request; its
        # arrival here may lag by a moment. Alertmanager alone repeats every ~2 s.
        assert second.at - first.at >= RELAY_COOLDOWN_SECONDS - 0.5
        notifications = alertmanager_notifications(chain.alertmanager)
    assert len(chain.ci_api.requests) == 2
    # The first run and at least two repeats the cool-down absorbed (the notification
    # that started the second run may still be in flight).
    assert notifications >= 3, notifications


def alertmanager_notifications(alertmanager: str) -> float:
    """Webhook notifications Alertmanager sent successfully (its /metrics)."""
    with urllib.request.urlopen(alertmanager + "/metrics", timeout=5) as response:
        text = response.read().decode()
    sent = failed = 0.0
    for line in text.splitlines():
        if 'integration="webhook"' in line:
            if line.startswith("alertmanager_notifications_total"):
                sent = float(line.rsplit(" ", 1)[1])
            elif line.startswith("alertmanager_notifications_failed_total"):
                failed = float(line.rsplit(" ", 1)[1])
    return sent - failed

"""From input drift to a CI trigger, on 127.0.0.1 with the real parts.

The generated API (started by the caller) serves predictions; a real
Prometheus scrapes it with the project's alert rules; a real Alertmanager
(Debian's prometheus-alertmanager) routes with the project's
monitoring/alertmanager.yml; the project's retrain relay turns the webhook
into GitHub's workflow_dispatch request; the project's own stand-in API
(tests/api_stand_in.py) records that request. Used by tests/test_monitoring.py
(short intervals) and bench/bench_retrain.py (the shipped settings).
"""
import contextlib
import importlib.util
import json
import os
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from support.processes import free_port, serving

MODULE = "tumor_classifier"
RELAY_TOKEN = "relay-test-token"
CI_TOKEN = "gh-test-token"
CI_PROJECT = "org/model"
DISPATCH_PATH = f"/repos/{CI_PROJECT}/actions/workflows/retrain.yml/dispatches"
WINDOW_ROWS = 1000  # the API's default DRIFT_WINDOW_ROWS
FAST_ROUTE = {"group_wait": "1s", "group_interval": "1s", "repeat_interval": "2s"}


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def write_yaml(path: Path, document) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def prometheus_config(project: Path, work: Path, api_url: str, fast: bool = True,
                      alertmanager_url: str = "", drift_for: str = "") -> Path:
    """The project's monitoring/prometheus.yml pointed at ``api_url`` (and an
    Alertmanager); ``fast``: scrape and evaluate every second; ``drift_for``:
    FeatureDrift's `for:` instead of the shipped minutes."""
    config = load_yaml(project / "monitoring" / "prometheus.yml")
    if fast:
        config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    rule_files = [project / "monitoring" / rule for rule in config["rule_files"]]
    if drift_for:
        rules = load_yaml(rule_files[0])
        for rule in rules["groups"][0]["rules"]:
            if rule["alert"] == "FeatureDrift":
                rule["for"] = drift_for
        rule_files = [write_yaml(work / "prometheus-rules.yml", rules)]
    config["rule_files"] = [str(path) for path in rule_files]
    config["scrape_configs"][0]["static_configs"] = [
        {"targets": [urllib.parse.urlsplit(api_url).netloc]}]
    config.pop("alerting", None)  # the shipped one names 127.0.0.1:9093
    if alertmanager_url:
        config["alerting"] = {"alertmanagers": [{"static_configs": [
            {"targets": [urllib.parse.urlsplit(alertmanager_url).netloc]}]}]}
    return write_yaml(work / "prometheus.yml", config)


@contextlib.contextmanager
def prometheus(config: Path, work: Path):
    port = free_port()
    command = ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={work / 'data'}",
               f"--web.listen-address=127.0.0.1:{port}"]
    with serving("Prometheus", command, work, dict(os.environ), port, "/-/ready") as url:
        yield url


def alertmanager_config(project: Path, work: Path, relay_url: str, fast: bool) -> Path:
    """The project's monitoring/alertmanager.yml sending to ``relay_url``."""
    config = load_yaml(project / "monitoring" / "alertmanager.yml")
    route = next(route for route in config["route"]["routes"]
                 if route["receiver"] == "retrain-relay")
    if fast:
        route.update(FAST_ROUTE)
    receiver = next(item for item in config["receivers"] if item["name"] == "retrain-relay")
    webhook, = receiver["webhook_configs"]
    assert urllib.parse.urlsplit(webhook["url"]).path == "/alerts"
    webhook["url"] = relay_url + "/alerts"
    token_file = work / "relay.token"
    token_file.write_text(RELAY_TOKEN)
    webhook["http_config"]["authorization"]["credentials_file"] = str(token_file)
    return write_yaml(work / "alertmanager.yml", config)


def stand_in_api(project: Path):
    """The project's own test helper (tests/api_stand_in.py): one copy of it."""
    spec = importlib.util.spec_from_file_location(
        "api_stand_in", project / "tests" / "api_stand_in.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.StandInApi()


@dataclass
class Chain:
    prometheus: str
    alertmanager: str
    ci_api: object  # the StandInApi recording the CI trigger requests


@contextlib.contextmanager
def alert_chain(project: Path, work: Path, api_url: str, cooldown_seconds: float,
                fast: bool = True, drift_for: str = "1s"):
    """Stand-in CI API, relay, Alertmanager and Prometheus, all stopped on exit."""
    with stand_in_api(project) as ci_api:
        ci_api.answer("POST", DISPATCH_PATH, 204)
        relay_port = free_port()
        relay_env = {**os.environ, "PYTHONPATH": str(project / "src"),
                     "RELAY_PROVIDER": "github", "TRIGGER_URL": ci_api.url,
                     "TRIGGER_PROJECT": CI_PROJECT, "TRIGGER_TOKEN": CI_TOKEN,
                     "RELAY_TOKEN": RELAY_TOKEN, "RELAY_HOST": "127.0.0.1",
                     "RELAY_PORT": str(relay_port),
                     "RELAY_COOLDOWN_SECONDS": str(cooldown_seconds)}
        with serving("the retrain relay", [sys.executable, "-m", f"{MODULE}.relay"], project,
                     relay_env, relay_port, "/health") as relay_url:
            am_port = free_port()
            am_command = [
                "prometheus-alertmanager",
                f"--config.file={alertmanager_config(project, work, relay_url, fast)}",
                f"--storage.path={work / 'alertmanager'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address="]  # no gossip port: a single instance
            with serving("Alertmanager", am_command, work, dict(os.environ), am_port,
                         "/-/ready") as am_url:
                config = prometheus_config(project, work, api_url, fast, am_url, drift_for)
                with prometheus(config, work) as prometheus_url:
                    yield Chain(prometheus_url, am_url, ci_api)


def post_rows(api: str, frame: pd.DataFrame, batch: int = 100) -> None:
    records = frame.to_dict(orient="records")
    for start_row in range(0, len(records), batch):
        body = json.dumps(records[start_row:start_row + batch]).encode()
        request = urllib.request.Request(api + "/predict", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200


def drift_traffic(project: Path) -> tuple:
    """(held-out rows, the same rows with one feature shifted, that feature's name):
    a window's worth each. Five training standard deviations up puts every
    shifted value above the top bin of the training profile."""
    test = pd.read_csv(project / "data" / "prepared" / "test.csv").drop(columns=["target"])
    held_out = pd.concat([test] * (WINDOW_ROWS // len(test) + 1),
                         ignore_index=True)[:WINDOW_ROWS]
    feature = test.columns[0]
    train = pd.read_csv(project / "data" / "prepared" / "train.csv")
    drifted = held_out.assign(**{feature: held_out[feature] + 5 * train[feature].std()})
    return held_out, drifted, feature

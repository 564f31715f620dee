"""Alert rules: generated from params.yaml's monitoring section, thresholds that make sense."""
import shutil

import numpy as np
import yaml

from {{ cookiecutter.module_name }} import alert_rules
from {{ cookiecutter.module_name }}.drift import DriftWindow, build_profile
from stage_workspace import PROJECT_ROOT


def test_alert_rules_are_generated_from_params(monkeypatch, capsys):
    monkeypatch.chdir(PROJECT_ROOT)
    assert alert_rules.main(["--check"]) == 0, capsys.readouterr().err
    plain = yaml.safe_load(alert_rules.RULES_FILE.read_text())
    operator = yaml.safe_load(alert_rules.OPERATOR_RULE_FILE.read_text())
    assert operator["spec"] == plain
    settings = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())["monitoring"]
    expressions = {rule["alert"]: rule["expr"] for rule in plain["groups"][0]["rules"]}
    drift = 'model_feature_drift_psi{job="%s"} > %s ' % (
        settings["job"], settings["drift_psi_threshold"])
    assert expressions["FeatureDrift"].startswith(drift)


def test_a_changed_threshold_makes_the_rules_stale_until_regenerated(tmp_path, monkeypatch,
                                                                     capsys):
    shutil.copytree(PROJECT_ROOT / "monitoring", tmp_path / "monitoring")
    params = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
    params["monitoring"]["drift_psi_threshold"] = 0.4
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(tmp_path)
    assert alert_rules.main(["--check"]) == 1
    assert "differ from params.yaml" in capsys.readouterr().err
    assert alert_rules.main([]) == 0
    assert alert_rules.main(["--check"]) == 0
    assert "> 0.4 and on" in alert_rules.RULES_FILE.read_text()


def test_drift_alert_threshold_matches_a_real_shift():
    """The default threshold sits between sampling noise and a one-std shift."""
    generator = np.random.default_rng(0)
    threshold = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())[
        "monitoring"]["drift_psi_threshold"]
    rows = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())[
        "monitoring"]["drift_min_window_rows"]
    profile = build_profile({"x": generator.normal(0, 1, 5000)})
    for shift, drifted in ((0.0, False), (1.0, True)):
        window = DriftWindow(profile, ["x"], size=rows)
        window.add(generator.normal(shift, 1, (rows, 1)))
        assert (window.psi_by_feature()["x"] > threshold) is drifted

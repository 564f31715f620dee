"""deploy/kserve, checked offline as strongly as a cluster-less machine allows.

The InferenceService renders with `kubectl kustomize`; it passes KServe's own
CRD schema (v0.20.0, vendored in tests/fixtures/kserve) through check-jsonschema,
closed to unknown fields; its pod fields pass `kubernetes-validate --strict` as a
Pod; its image is the one CI pushes, its probes are routes of the serving app and
its name is the model name the V2 routes answer to. Misspelt fields fail. Not
exercised: a cluster running KServe (none can run here).
"""
import gzip
import json
import subprocess

import pytest

from support.project import BIN_DIR, TEMPLATE_ROOT, bake
from support.manifests import VARIANTS, kubernetes_validate, render

SCHEMA = TEMPLATE_ROOT / "tests" / "fixtures" / "kserve" / "inferenceservice-v1beta1.schema.json.gz"
# What a probe gets from the app before the model loads: a route that exists.
PROBE_STATUS = {"livenessProbe": 200, "readinessProbe": 503}


def closed(schema):
    """The schema with every object that lists its properties closed to others,
    as `kubectl apply --validate=strict` treats them."""
    if isinstance(schema, dict):
        schema = {key: closed(value) for key, value in schema.items()}
        if "properties" in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema.setdefault("additionalProperties", False)
    elif isinstance(schema, list):
        schema = [closed(item) for item in schema]
    return schema


BREAKAGES = {
    "misspelt field": lambda predictor: predictor.update(contianers=predictor.pop("containers")),
    "wrong type": lambda predictor: predictor.update(minReplicas="two"),
}


@pytest.fixture(scope="module")
def baked(tmp_path_factory) -> dict:
    """Per answer variant: the project, its answers and the rendered InferenceService."""
    variants = {}
    for name, answers in VARIANTS.items():
        project = bake(tmp_path_factory.mktemp("kserve"), **answers)
        [service] = render(project / "deploy" / "kserve")
        variants[name] = project, answers, service
    return variants


@pytest.fixture(scope="module")
def schema_errors(baked, tmp_path_factory) -> dict:
    """check-jsonschema's complaints, per (variant, breakage or None): one run over
    every rendered and broken manifest, since loading the schema dominates."""
    work = tmp_path_factory.mktemp("kserve-schema")
    schema = work / "inferenceservice.schema.json"
    schema.write_text(json.dumps(closed(json.loads(gzip.decompress(SCHEMA.read_bytes())))))
    files = {}
    for variant, (_, _, service) in baked.items():
        for breakage in (None, *BREAKAGES):
            manifest = json.loads(json.dumps(service))
            if breakage:
                BREAKAGES[breakage](manifest["spec"]["predictor"])
            path = work / f"{variant}-{breakage or 'rendered'}.json".replace(" ", "-")
            path.write_text(json.dumps(manifest))
            files[str(path)] = variant, breakage
    result = subprocess.run([str(BIN_DIR / "check-jsonschema"), "-o", "json", "--schemafile",
                             str(schema), *files], capture_output=True, text=True)
    report = json.loads(result.stdout)
    assert not report["parse_errors"], report
    errors = {key: [] for key in files.values()}
    for error in report["errors"]:
        errors[files[error["filename"]]].append(f"{error['path']}: {error['message']}")
    return errors


@pytest.mark.parametrize("variant", VARIANTS)
def test_renders_a_valid_inference_service(baked, schema_errors, variant):
    _, answers, service = baked[variant]
    assert service["kind"] == "InferenceService"
    assert service["metadata"]["namespace"] == answers.get("k8s_namespace", "tumor-classifier")
    assert schema_errors[variant, None] == []


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("breakage", BREAKAGES)
def test_broken_manifests_fail_the_schema(schema_errors, variant, breakage):
    assert schema_errors[variant, breakage] != []


@pytest.mark.parametrize("variant", VARIANTS)
def test_pod_fields_pass_kubernetes_validate(baked, variant):
    _, _, service = baked[variant]
    spec = {key: value for key, value in service["spec"]["predictor"].items()
            if key not in ("minReplicas", "maxReplicas")}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "predictor"}, "spec": spec}
    result = kubernetes_validate([pod])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("variant", VARIANTS)
def test_serves_the_pushed_image_under_the_model_name(baked, variant):
    _, answers, service = baked[variant]
    [container] = service["spec"]["predictor"]["containers"]
    registry = answers.get("registry", "ghcr.io/my-org")
    image = answers.get("image_name", "tumor-classifier")
    assert container["image"] == f"{registry}/{image}:latest"  # the Makefile's IMAGE
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["MODEL_NAME"] == service["metadata"]["name"]
    assert [port["containerPort"] for port in container["ports"]] == [int(env["PORT"])]


def test_probes_are_routes_of_the_serving_app(baked):
    project, _, service = baked["same-repo"]
    [container] = service["spec"]["predictor"]["containers"]
    paths = {probe: container[probe]["httpGet"]["path"] for probe in PROBE_STATUS}
    code = ("import json, sys; from pathlib import Path; "
            "from fastapi.testclient import TestClient; "
            "from tumor_classifier.serving.app import create_app; "
            "from tumor_classifier.serving.config import Settings; "
            "client = TestClient(create_app(Settings(model_path=Path('absent.onnx')))); "
            "print(json.dumps({p: client.get(path).status_code "
            "for p, path in json.loads(sys.argv[1]).items()}))")
    result = subprocess.run([str(BIN_DIR / "python"), "-c", code, json.dumps(paths)],
                            cwd=project, capture_output=True, text=True,
                            env={"PYTHONPATH": str(project / "src")})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == PROBE_STATUS

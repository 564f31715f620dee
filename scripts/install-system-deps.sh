#!/usr/bin/env bash
# Install the Debian 12 packages the template's tests need to build, run and
# push container images daemonlessly (buildah/podman), make a local base image
# (debootstrap), run a real registry, Prometheus, Alertmanager, load tests
# and the benchmarks (wrk, valgrind).
#
# Idempotent: packages already installed are skipped without touching apt, so
# a re-run takes well under a second. Run as root.
#
# Services: Debian's docker-registry, prometheus and prometheus-alertmanager
# packages ship services that would listen on :5000, :9090 and :9093. Tests
# start their own instances on free ports, so this script installs with a
# policy-rc.d that forbids starting services (the usual container/chroot
# mechanism), and stops any instance that was started anyway. Nothing listens
# on 5000/9090/9093 afterwards.
set -euo pipefail

PACKAGES=(
  buildah podman runc skopeo  # daemonless image build/run/copy
  uidmap                      # newuidmap/newgidmap, used by buildah/podman user namespaces
  debootstrap                 # makes the local base image (scripts/make-base-image.sh)
  docker-registry             # a real OCI/Docker registry (distribution 2.8)
  prometheus                  # prometheus + promtool
  prometheus-alertmanager     # alertmanager + amtool (drift alert -> retrain relay)
  wrk                         # load generation
  valgrind                    # instruction counts (bench/bench_serving_instructions.py)
  rsync                       # gitlab-ci-local artifacts
  openjdk-17-jre-headless     # npm-groovy-lint runs CodeNarc (Jenkinsfile lint)
  curl git make ca-certificates
)

if [[ $(id -u) -ne 0 ]]; then
  echo "install-system-deps.sh: must run as root" >&2
  exit 1
fi

# Which packages are missing? One dpkg-query call, no apt.
missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-system-deps.sh: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "install-system-deps.sh: installing ${missing[*]}"

# Forbid service start-up during install unless a policy already exists.
POLICY=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $POLICY ]]; then
  printf '#!/bin/sh\nexit 101\n' > "$POLICY"
  chmod 755 "$POLICY"
  created_policy=1
fi
cleanup() { if [[ $created_policy -eq 1 ]]; then rm -f "$POLICY"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

# Belt and braces: if a packaged service did start (e.g. under systemd with
# a pre-existing policy that allowed it), stop and disable it so the default
# ports stay free for nothing and tests own their instances.
for svc in docker-registry prometheus prometheus-alertmanager; do
  if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  elif [[ -x /etc/init.d/$svc ]]; then
    /etc/init.d/"$svc" stop >/dev/null 2>&1 || true
  fi
done

echo "install-system-deps.sh: done"

#!/usr/bin/env bash
# Build the local base image localhost/pybase:bookworm, a stand-in for the
# upstream python:3.11-slim (no container registry is reachable here).
#
#   scripts/make-base-image.sh [CONFIG_DIR]
#
# Container storage/config: if CONTAINERS_CONF and CONTAINERS_STORAGE_CONF are
# set (tests/support/containers.py sets them), they are used as is. Otherwise
# CONFIG_DIR (default: <repo>/build/containers) gets the same containers.conf
# and storage.conf that tests/support/containers.py writes, with all storage
# inside it.
#
# Environment knobs:
#   BASE_IMAGE_TAG  image to make            (default localhost/pybase:bookworm)
#   SUITE           Debian suite             (default bookworm)
#   MIRROR          Debian mirror URL        (default: read from apt sources)
#   FORCE=1         rebuild even if the image exists
#
# Cached: if the image already exists in the storage, exits in well under 1 s.
# A full build (debootstrap + import) takes about a minute and ~200 MB.
set -euo pipefail

IMAGE=${BASE_IMAGE_TAG:-localhost/pybase:bookworm}
SUITE=${SUITE:-bookworm}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONFIG_DIR=$(realpath -m "${1:-$REPO_ROOT/build/containers}")

die() { echo "make-base-image.sh: $*" >&2; exit 1; }
log() { echo "make-base-image.sh: $*" >&2; }

[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap and rootful podman)"
for tool in podman debootstrap chroot tar; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "'$tool' not found; run scripts/install-system-deps.sh (apt packages podman, debootstrap)"
done

# --- container config: the caller's, or our own under CONFIG_DIR ----------
# Keep in sync with write_config() in tests/support/containers.py.
write_default_config() {
  local dir=$1
  mkdir -p "$dir"
  [[ -f $dir/storage.conf ]] || cat > "$dir/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$dir/storage"
runroot = "$dir/run"
CONF
  [[ -f $dir/containers.conf ]] || cat > "$dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$dir/libpod-tmp"
CONF
}

if [[ -z ${CONTAINERS_CONF:-} || -z ${CONTAINERS_STORAGE_CONF:-} ]]; then
  write_default_config "$CONFIG_DIR"
  export CONTAINERS_CONF=$CONFIG_DIR/containers.conf
  export CONTAINERS_STORAGE_CONF=$CONFIG_DIR/storage.conf
fi

# --- cache check ----------------------------------------------------------
if [[ ${FORCE:-0} != 1 ]] && podman image exists "$IMAGE"; then
  log "$IMAGE already present (cached)"
  exit 0
fi

# Serialise concurrent callers (e.g. parallel test workers) on one lock per
# storage, then re-check: another caller may have just built it.
mkdir -p "$CONFIG_DIR"
exec 9>"$CONFIG_DIR/.make-base-image.lock"
flock 9
if [[ ${FORCE:-0} != 1 ]] && podman image exists "$IMAGE"; then
  log "$IMAGE built by a concurrent caller"
  exit 0
fi

# --- find the Debian mirror this machine uses -----------------------------
# deb822 (*.sources): the URIs of the stanza whose Suites include $SUITE;
# one-line format (sources.list): "deb [opts] URI SUITE ...".
find_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk -v suite="$SUITE" '
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { if (uri != "" && ok) { print uri; exit } uri = ""; ok = 0; next }
      tolower($1) == "uris:"   { uri = $2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
      END { if (uri != "" && ok) print uri }
    ' "$f" | head -n1
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    awk -v suite="$SUITE" '
      $1 == "deb" { sub(/\[[^]]*\][[:space:]]*/, ""); if ($3 == suite) print $2 }
    ' "$f"
  done
}
MIRROR=${MIRROR:-$(find_mirror | head -n1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
log "building $IMAGE from $SUITE at $MIRROR"

# --- debootstrap ----------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pybase.XXXXXX")
ROOTFS=$WORK/rootfs
cleanup() {
  # debootstrap may leave /proc, /sys... mounted in the rootfs on failure:
  # unmount them before deleting so rm never walks into the host's /proc.
  local m
  awk -v r="$ROOTFS" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

debootstrap --variant=minbase \
  --include=python3,python3-venv,python3-pip,ca-certificates \
  "$SUITE" "$ROOTFS" "$MIRROR" > "$WORK/debootstrap.log" 2>&1 ||
  { tail -n 30 "$WORK/debootstrap.log" >&2; die "debootstrap failed (full log above)"; }

# --- trust the machine's extra CAs (outbound HTTPS goes through a proxy) ----
# 1) local CAs added the Debian way; 2) any non-default bundle pip is told to
# use (pip config / PIP_CERT), copied in whole.
install -d "$ROOTFS/usr/local/share/ca-certificates/host"
shopt -s nullglob
for crt in /usr/local/share/ca-certificates/*.crt /usr/local/share/ca-certificates/*/*.crt; do
  cp "$crt" "$ROOTFS/usr/local/share/ca-certificates/host/"
done
shopt -u nullglob
pip_cert=${PIP_CERT:-}
if [[ -z $pip_cert ]] && command -v pip >/dev/null 2>&1; then
  pip_cert=$(pip config get global.cert 2>/dev/null || true)
fi
if [[ -n $pip_cert && -f $pip_cert && $(realpath "$pip_cert") != /etc/ssl/certs/ca-certificates.crt ]]; then
  cp "$pip_cert" "$ROOTFS/usr/local/share/ca-certificates/host/pip-cert-bundle.crt"
fi
chroot "$ROOTFS" update-ca-certificates --fresh > "$WORK/ca.log" 2>&1 ||
  { cat "$WORK/ca.log" >&2; die "update-ca-certificates failed in the rootfs"; }

# --- make it behave like python:3.11-slim for python/pip/venv --------------
ln -sf /usr/bin/python3 "$ROOTFS/usr/local/bin/python"
ln -sf /usr/bin/pip3 "$ROOTFS/usr/local/bin/pip"
# PEP 668: Debian marks the system Python externally managed; the official
# image does not, so `pip install` outside a venv must work here too.
rm -f "$ROOTFS"/usr/lib/python3*/EXTERNALLY-MANAGED
# Smaller image: package caches and lists are not needed at run time.
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* \
       "$ROOTFS"/var/log/* "$ROOTFS"/tmp/*
# Leave a valid, empty machine-id/resolv.conf for the runtime to fill.
: > "$ROOTFS/etc/resolv.conf"

# --- import ---------------------------------------------------------------
tar -C "$ROOTFS" --numeric-owner -c . | podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["python3"]' \
  --message "debootstrap $SUITE minbase + python3 (scripts/make-base-image.sh)" \
  - "$IMAGE" > /dev/null
log "built $IMAGE ($(podman image inspect --format '{{.Size}}' "$IMAGE") bytes)"

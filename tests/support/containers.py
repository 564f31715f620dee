"""Build, run and push container images without a Docker daemon.

Tests of the template use this module to exercise a generated project's
Dockerfile for real: buildah builds it, podman runs it, and Debian's
``docker-registry`` (distribution 2.8) receives the push.

Everything is rootful and confined to one directory (default
``<repo>/build/containers``, git-ignored) holding ``containers.conf``,
``storage.conf``, the image store and podman's runtime state, so tests never
touch the machine's default storage and images survive between sessions
(the base image takes ~1 min to make, then is reused).

System packages come from ``scripts/install-system-deps.sh``; the base image
``localhost/pybase:bookworm`` (a stand-in for ``python:3.11-slim``, since no
registry can be pulled from) comes from ``scripts/make-base-image.sh``.

Typical use::

    tools = ContainerTools()
    tools.ensure_base_image()
    tools.build_image(ctx, "localhost/app:test", {"BASE_IMAGE": BASE_IMAGE})
    with tools.run_container("localhost/app:test", port=port) as c:
        assert c.get("/").status == 200
    with LocalRegistry(tools) as reg:
        reg.push("localhost/app:test", "app:test")
        assert "test" in reg.list_tags("app")
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from support.processes import free_port, wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIR = REPO_ROOT / "build" / "containers"
BASE_IMAGE = "localhost/pybase:bookworm"
INSTALL_SCRIPT = "scripts/install-system-deps.sh"
BASE_IMAGE_SCRIPT = REPO_ROOT / "scripts" / "make-base-image.sh"

# Which Debian package provides each tool we call, for error messages.
_PACKAGES = {
    "buildah": "buildah",
    "podman": "podman",
    "runc": "runc",
    "debootstrap": "debootstrap",
    "docker-registry": "docker-registry",
}


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------
def require_tool(name: str) -> str:
    """Return the path of executable ``name`` or explain how to install it."""
    path = shutil.which(name)
    if path is None:
        package = _PACKAGES.get(name, name)
        raise RuntimeError(
            f"'{name}' not found on PATH: install the Debian package "
            f"'{package}' (run {INSTALL_SCRIPT} as root)"
        )
    return path


@dataclass
class HttpResponse:
    status: int
    body: bytes
    headers: dict


def http_get(url: str, timeout: float = 5.0) -> HttpResponse:
    """GET ``url``; HTTP errors are returned as responses, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return HttpResponse(r.status, r.read(), dict(r.headers))
    except urllib.error.HTTPError as e:
        return HttpResponse(e.code, e.read(), dict(e.headers))


def wait_for_http(url: str, timeout: float = 30.0, alive=None) -> HttpResponse:
    """Poll ``url`` until it answers any HTTP status; return that response.
    ``alive`` (optional) returning False stops the wait: the server died."""
    return wait_for(url, lambda: http_get(url, timeout=2.0), timeout, interval=0.1, alive=alive)


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------
def write_unless_equal(path: Path, text: str) -> None:
    """Replace ``path`` atomically, and only when its text differs: a podman
    started by another test process meanwhile never reads a half-written file."""
    if path.exists() and path.read_text() == text:
        return
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text)
    os.replace(temporary, path)


def write_config(root: Path) -> dict[str, str]:
    """Write containers.conf and storage.conf under ``root``.

    Returns the environment variables that point buildah/podman at them.
    Keep in sync with write_default_config() in scripts/make-base-image.sh.
    """
    root.mkdir(parents=True, exist_ok=True)
    storage_conf = root / "storage.conf"
    containers_conf = root / "containers.conf"
    # Overlay on the host kernel (we are root, so no fuse-overlayfs needed);
    # all state under root so sessions never touch /var/lib/containers.
    write_unless_equal(
        storage_conf,
        "[storage]\n"
        'driver = "overlay"\n'
        f'graphroot = "{root}/storage"\n'
        f'runroot = "{root}/run"\n'
    )
    # runc: Debian's podman defaults to crun, which we do not install.
    # ulimits: the host's nofile limit is huge and runc rejects inheriting it.
    # cgroupfs + file events: there is no systemd/journald on these machines.
    # tmp_dir: podman's per-storage state, kept apart from the default store.
    write_unless_equal(
        containers_conf,
        "[containers]\n"
        'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n'
        "\n"
        "[engine]\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
        f'tmp_dir = "{root}/libpod-tmp"\n'
    )
    return {
        "CONTAINERS_CONF": str(containers_conf),
        "CONTAINERS_STORAGE_CONF": str(storage_conf),
    }


# --------------------------------------------------------------------------
# build / inspect / run
# --------------------------------------------------------------------------
class ContainerTools:
    """buildah/podman bound to one private configuration directory."""

    def __init__(self, root: Path | str | None = None):
        if os.geteuid() != 0:
            raise RuntimeError("container tests need root (rootful buildah/podman)")
        for tool in ("buildah", "podman", "runc"):
            require_tool(tool)
        self.root = Path(root or os.environ.get("TEMPLATE_CONTAINERS_DIR") or DEFAULT_DIR)
        self.root = self.root.resolve()
        self.env = {**os.environ, **write_config(self.root)}

    # -- plumbing ---------------------------------------------------------
    def run(self, *args: str, timeout: float = 600, check: bool = True,
            input: str | None = None) -> subprocess.CompletedProcess:
        """Run a command with our container env; raise with its output on failure."""
        proc = subprocess.run(
            list(args), env=self.env, text=True, input=input,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"command failed ({proc.returncode}): {' '.join(args)}\n"
                f"{_tail(proc.stdout)}"
            )
        return proc

    def podman(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return self.run("podman", *args, **kw)

    # -- images -----------------------------------------------------------
    def ensure_base_image(self, image: str = BASE_IMAGE) -> None:
        """Make the local python base image unless this storage has it."""
        if self.image_exists(image):  # fast path, no bash/debootstrap needed
            return
        with self.lock("base-image"):
            if not self.image_exists(image):  # another test process made it meanwhile
                self._make_base_image(image)

    @contextlib.contextmanager
    def lock(self, name: str):
        """Hold a lock on this storage, so parallel test processes (pytest-xdist)
        make a shared image once."""
        with open(self.root / f".{name}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _make_base_image(self, image: str) -> None:
        require_tool("debootstrap")
        # The script reads our CONTAINERS_* env, so it fills this same storage.
        env = {**self.env, "BASE_IMAGE_TAG": image}
        proc = subprocess.run(["bash", str(BASE_IMAGE_SCRIPT), str(self.root)],
                              env=env, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=900)
        if proc.returncode != 0:
            raise RuntimeError(f"{BASE_IMAGE_SCRIPT.name} failed:\n{_tail(proc.stdout)}")
        if not self.image_exists(image):
            raise RuntimeError(f"{image} missing after {BASE_IMAGE_SCRIPT.name}")

    def image_exists(self, tag: str) -> bool:
        return self.podman("image", "exists", tag, check=False).returncode == 0

    def build_image(self, context_dir: Path | str, tag: str,
                    build_args: dict[str, str] | None = None,
                    dockerfile: str | None = None) -> str:
        """Build ``context_dir`` into ``tag``; return the image id.

        chroot isolation + host network: no daemon, no bridge, no iptables.
        --pull=never: base images are local only. --layers: reuse unchanged
        steps across runs. --format docker: OCI images drop HEALTHCHECK.
        """
        require_tool("buildah")
        context_dir = Path(context_dir)
        with tempfile.TemporaryDirectory() as tmp:
            iidfile = Path(tmp) / "iid"
            cmd = ["buildah", "bud", "--isolation", "chroot", "--pull=never",
                   "--network", "host", "--layers", "--format", "docker",
                   "--iidfile", str(iidfile), "-t", tag]
            for key, value in (build_args or {}).items():
                cmd += ["--build-arg", f"{key}={value}"]
            if dockerfile:
                cmd += ["-f", str(context_dir / dockerfile)]
            self.run(*cmd, str(context_dir), timeout=1800)
            return iidfile.read_text().strip().removeprefix("sha256:")

    def inspect_image(self, tag: str) -> dict:
        """Full ``podman image inspect`` record of ``tag``."""
        return json.loads(self.podman("image", "inspect", tag).stdout)[0]

    def image_config(self, tag: str) -> dict:
        """The image's run config: User, ExposedPorts, Cmd, Env, Healthcheck...

        podman reports Healthcheck beside Config (the OCI config has no such
        field), so it is merged in here to look like ``docker inspect``.
        """
        data = self.inspect_image(tag)
        config = dict(data.get("Config") or {})
        if data.get("Healthcheck"):
            config["Healthcheck"] = data["Healthcheck"]
        return config

    def image_size(self, tag: str) -> int:
        """Uncompressed size of ``tag`` in bytes."""
        return int(self.inspect_image(tag)["Size"])

    def remove_image(self, tag: str) -> None:
        self.podman("rmi", "--force", tag, check=False)

    def push(self, tag: str, dest: str) -> None:
        """Push ``tag`` to ``dest`` (``host:port/repo:tag``), plain HTTP allowed."""
        self.podman("push", "--quiet", "--tls-verify=false", tag, dest)

    # -- containers -------------------------------------------------------
    def run_container(self, tag: str, env: dict[str, str] | None = None,
                      port: int | None = None, path: str = "/",
                      timeout: float = 60, command: list[str] | None = None,
                      extra_args: list[str] | None = None) -> "Container":
        """Start ``tag`` detached on the host network; wait for HTTP if ``port``.

        The app must listen on ``port`` itself (host network: no -p mapping).
        Returns a Container; use it as a context manager so it is always
        removed, even when the wait fails.
        """
        name = f"tpl-test-{uuid.uuid4().hex[:12]}"
        args = ["run", "-d", "--name", name, "--network", "host", "--pull=never"]
        for key, value in (env or {}).items():
            args += ["-e", f"{key}={value}"]
        args += list(extra_args or []) + [tag] + list(command or [])
        container = Container(self, name)
        try:
            self.podman(*args)
            if port is not None:
                container.url = f"http://127.0.0.1:{port}"
                wait_for_http(container.url + path, timeout, alive=container.is_running)
        except BaseException as e:
            logs = container.logs()
            container.stop()
            if isinstance(e, Exception):
                raise RuntimeError(f"container {tag} failed to serve: {e}\n"
                                   f"--- container logs ---\n{_tail(logs)}") from e
            raise
        return container

    def exec_in(self, container: "Container | str", cmd: list[str]) -> str:
        """Run ``cmd`` inside a running container; return its stripped stdout."""
        name = container.name if isinstance(container, Container) else container
        return self.podman("exec", name, *cmd).stdout.strip()


class Container:
    """A running container; ``stop()`` (or leaving ``with``) removes it."""

    def __init__(self, tools: ContainerTools, name: str):
        self.tools = tools
        self.name = name
        self.url: str | None = None

    def is_running(self) -> bool:
        out = self.tools.podman("inspect", "--format", "{{.State.Running}}",
                                self.name, check=False).stdout.strip()
        return out == "true"

    def get(self, path: str = "/", timeout: float = 5.0) -> HttpResponse:
        assert self.url, "container was started without a port"
        return http_get(self.url + path, timeout)

    def exec(self, cmd: list[str]) -> str:
        return self.tools.exec_in(self, cmd)

    def healthcheck(self) -> bool:
        """Run the image's HEALTHCHECK once; True if it passed.

        podman schedules healthchecks with systemd timers, which do not exist
        here (it logs an error and never runs them), so tests trigger it.
        """
        return self.tools.podman("healthcheck", "run", self.name,
                                 check=False).returncode == 0

    def logs(self) -> str:
        return self.tools.podman("logs", self.name, check=False).stdout

    def stop(self, timeout: int = 0) -> None:
        """Stop and remove. timeout=0 kills at once: a PID 1 that installs no
        SIGTERM handler (e.g. ``python -m http.server``) would ignore it."""
        self.tools.podman("rm", "--force", "--time", str(timeout), self.name,
                          check=False, timeout=120)

    def __enter__(self) -> "Container":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# --------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------
class LocalRegistry:
    """Debian's docker-registry (distribution 2.8) on 127.0.0.1:<free port>.

    Storage is a temporary directory removed on exit; plain HTTP, no auth.
    """

    def __init__(self, tools: ContainerTools, port: int | None = None):
        self.tools = tools
        self.port = port or free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._proc: subprocess.Popen | None = None

    def start(self) -> "LocalRegistry":
        binary = require_tool("docker-registry")
        self._tmp = tempfile.TemporaryDirectory(prefix="registry-")
        tmp = Path(self._tmp.name)
        config = tmp / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {tmp / 'data'}\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.host}\n"
        )
        self._log = open(tmp / "registry.log", "w+")
        self._proc = subprocess.Popen([binary, "serve", str(config)],
                                      stdout=self._log, stderr=subprocess.STDOUT)
        try:
            wait_for_http(self.url + "/v2/", timeout=30,
                          alive=lambda: self._proc.poll() is None)
        except Exception as e:
            self.stop()
            raise RuntimeError(f"docker-registry did not start: {e}") from e
        return self

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
            self._log.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "LocalRegistry":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def ref(self, dest: str) -> str:
        """``repo:tag`` -> ``127.0.0.1:PORT/repo:tag`` (full refs pass through)."""
        return dest if dest.startswith(self.host + "/") else f"{self.host}/{dest}"

    def push(self, tag: str, dest: str) -> str:
        """Push local image ``tag`` as ``dest``; return the full reference."""
        ref = self.ref(dest)
        self.tools.push(tag, ref)
        return ref

    def manifest_digest(self, repo: str, tag: str) -> str:
        """The manifest digest the registry serves for ``repo:tag``."""
        request = urllib.request.Request(
            f"{self.url}/v2/{repo}/manifests/{tag}", method="HEAD",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json, "
                               "application/vnd.docker.distribution.manifest.v2+json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.headers["Docker-Content-Digest"]

    def list_tags(self, repo: str) -> list[str]:
        """Tags of ``repo`` per the registry API (empty if the repo is unknown)."""
        r = http_get(f"{self.url}/v2/{repo}/tags/list")
        if r.status == 404:
            return []
        if r.status != 200:
            raise RuntimeError(f"registry answered {r.status}: {r.body[:200]!r}")
        return json.loads(r.body).get("tags") or []

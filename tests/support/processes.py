"""Start local servers for a test or a benchmark and wait until they answer."""
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

WAIT_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def wait_for(what: str, check, timeout: float = WAIT_SECONDS, process=None, interval=0.25,
             alive=None):
    """Poll ``check`` until it returns something truthy; fail naming ``what``,
    at once if the server's ``process`` (a Popen) exited or ``alive()`` is False."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if process is not None and process.poll() is not None:
            output = process.stdout.read()[-3000:] if process.stdout else ""
            raise AssertionError(f"{what}: process exited with {process.returncode}:\n{output}")
        if alive is not None and not alive():
            raise AssertionError(f"{what}: the server stopped")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def start(command, cwd: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def serving(what: str, command, cwd: Path, env: dict, port: int, ready_path: str):
    """Start a server on 127.0.0.1:port, wait until ready_path answers 200,
    yield its URL, and always stop it."""
    process = start(command, cwd, env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{what} to be ready",
                 lambda: urllib.request.urlopen(url + ready_path, timeout=2).status == 200,
                 process=process)
        yield url
    finally:
        stop(process)

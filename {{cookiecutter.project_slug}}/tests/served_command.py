"""`python -m {{ cookiecutter.module_name }}.serving` started as deployed, and
raw-socket helpers, for the tests that need the real HTTP server."""
import contextlib
import os
import socket
import subprocess
import sys
import urllib.request

from stage_workspace import PROJECT_ROOT
from waiting import wait_until

PATIENCE = 5  # seconds a test waits for the server before failing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(address, path: str) -> tuple:
    with urllib.request.urlopen(f"http://{address[0]}:{address[1]}{path}", timeout=5) as answer:
        return answer.status, answer.read().decode()


@contextlib.contextmanager
def served(directory, env: dict):
    """The address of the command serving ``directory``'s model, once /ready answers."""
    address = ("127.0.0.1", free_port())
    env = {**os.environ, **env, "PORT": str(address[1]), "PYTHONPATH": str(PROJECT_ROOT / "src")}
    process = subprocess.Popen([sys.executable, "-m", "{{ cookiecutter.module_name }}.serving"],
                               cwd=directory, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)

    def ready() -> bool:
        try:
            get(address, "/ready")
            return True
        except OSError:
            assert process.poll() is None, process.stdout.read().decode()
            return False

    try:
        assert wait_until(ready, timeout=30, interval=0.1), "server did not become ready in 30 s"
        yield address
    finally:
        process.terminate()
        process.wait(timeout=10)


def connect(address) -> socket.socket:
    return socket.create_connection(address, timeout=PATIENCE)


def answer_to(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def samples(address) -> dict:
    text = get(address, "/metrics")[1]
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line and not line.startswith("#")}


def answers_in(data: bytes) -> list:
    """The (status, headers, body) of each answer in ``data``, in order."""
    answers = []
    while data:
        head, data = data.split(b"\r\n\r\n", 1)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines)
        length = int(headers.get("content-length", 0))
        answers.append((int(status_line.split(" ", 2)[1]), headers, data[:length]))
        data = data[length:]
    return answers

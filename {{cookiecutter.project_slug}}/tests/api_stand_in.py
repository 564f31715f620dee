"""A local HTTP server standing in for a hosting or CI API in tests.

It records every request and answers from a script: (method, path) ->
(status, JSON). Anything unscripted gets a 404, as a real API would answer.

It imports nothing from the other test modules: the template's own tests load
this file by its path, with no tests/ folder on the import path.
"""
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    method: str
    path: str
    query: dict
    headers: object  # case-insensitive, like HTTP
    body: bytes
    at: float  # time.monotonic() on arrival

    def json(self):
        return json.loads(self.body)

    def form(self) -> dict:
        return dict(urllib.parse.parse_qsl(self.body.decode()))


class StandInApi:
    def __init__(self):
        self.requests = []
        self.script = {}
        self.url = ""

    def answer(self, method: str, path: str, status: int, payload=None) -> None:
        self.script[(method, path)] = (status, payload)

    def wait_for(self, count: int, timeout: float = 30) -> list:
        """The recorded requests, once at least ``count`` have arrived."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.requests)} requests after {timeout}s, "
                                     f"expected {count}")
            time.sleep(0.05)
        return list(self.requests)

    def __enter__(self):
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def handle_one(self):
                url = urllib.parse.urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stand_in.requests.append(Recorded(
                    self.command, url.path, dict(urllib.parse.parse_qsl(url.query)),
                    self.headers, body, time.monotonic()))
                status, payload = stand_in.script.get((self.command, url.path),
                                                      (404, {"message": "Not Found"}))
                answer = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_PUT = do_PATCH = handle_one

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

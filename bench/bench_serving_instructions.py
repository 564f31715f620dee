"""Instructions per request of the served command: a figure the machine's speed does not move.

    .venv/bin/python bench/bench_serving_instructions.py [--baseline REF]

On our 2-core machines wrk's requests/s drift by a third within minutes
(bench/README.md), more than most changes to the request path. This counts
instructions instead, with valgrind's callgrind, in one process: the served
command's HTTP protocol (or the bare uvicorn floor's) with 8 connections,
each sending one request per turn of the event loop, as wrk -c8 makes them
arrive, and answers written to a transport that counts them. There is no
kernel and no socket: the count is the Python, C and ONNX Runtime work of the
request path, the part our code decides. Two runs with a different number of
turns, subtracted, leave out the start-up.

An instruction is not a unit of time (a cache miss costs more than an add):
this complements bench_serving.py, it does not replace it.
Needs valgrind (Debian package).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_serving import FLOOR_APP, MODEL_NAME, request_bodies, template_at, trained_project

CONNECTIONS = 8
# Turns of the event loop (each: one request per connection) in the short and
# the long run; the difference is what is counted.
TURNS = {1: (200, 1000), 100: (4, 20)}

HARNESS = '''
import asyncio, os, sys
import uvicorn, uvloop
from uvicorn.server import ServerState

project, route, body_path, turns = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
os.chdir(project)
sys.path.insert(0, os.path.join(project, "src"))
body = open(body_path, "rb").read()


class CountingTransport:
    """Enough of an asyncio transport for uvicorn's protocol; counts answers."""
    def __init__(self):
        self.answers, self.statuses = 0, set()
    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 8000) if name in ("sockname", "peername") else default
    def write(self, data):
        if data.startswith(b"HTTP/1.1 "):
            self.answers += 1
            self.statuses.add(data[9:12])
    def is_closing(self):
        return False
    def close(self):
        raise SystemExit("the server closed a connection")
    def pause_reading(self):
        pass
    def resume_reading(self):
        pass


async def main():
    if route == "floor":
        sys.path.insert(0, os.path.dirname(body_path))
        from floor import app
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as protocol
        target = "/"
    else:
        from tumor_classifier.serving.app import create_app
        from tumor_classifier.serving.config import Settings
        from tumor_classifier.serving.direct_routes import serving_protocol
        settings = Settings()
        app = create_app(settings)
        protocol = serving_protocol(settings, app)
        target = route
    config = uvicorn.Config(app, log_level="critical", access_log=False)
    config.load()
    request = (b"POST %s HTTP/1.1\\r\\nHost: 127.0.0.1:8000\\r\\nContent-Type: application/json"
               b"\\r\\nContent-Length: %d\\r\\n\\r\\n%s" % (target.encode(), len(body), body))
    state = ServerState()
    connections = []
    for _ in range(CONNECTIONS):
        transport = CountingTransport()
        connection = protocol(config=config, server_state=state, app_state={})
        connection.connection_made(transport)
        connections.append((connection, transport))
    for turn in range(1, turns + 1):
        for connection, _ in connections:
            connection.data_received(request)
        while any(transport.answers < turn for _, transport in connections):
            await asyncio.sleep(0)
    statuses = set().union(*(transport.statuses for _, transport in connections))
    if statuses != {b"200"}:
        raise SystemExit(f"answers with status {sorted(statuses)}")


CONNECTIONS = int(os.environ["CONNECTIONS"])
uvloop.install()
asyncio.run(main())
'''


def instructions(harness: Path, project: Path, route: str, body: Path, turns: int) -> int:
    """What callgrind counts for the whole harness run."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "CONNECTIONS": str(CONNECTIONS)}
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         str(harness), str(project), route, str(body), str(turns)],
        env=env, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or not found:
        raise RuntimeError(f"{route} on {project}: exit {result.returncode}\n"
                           f"{result.stderr[-2000:]}")
    return int(found.group(1))


def per_request(harness, project, route, body, rows) -> float:
    short, long = TURNS[rows]
    counts = [instructions(harness, project, route, body, turns) for turns in (short, long)]
    return (counts[1] - counts[0]) / ((long - short) * CONNECTIONS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", metavar="REF",
                        help="also count the project the template at git REF generates")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind not found: run scripts/install-system-deps.sh", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as tmp:
        work = Path(tmp)
        harness = work / "harness.py"
        harness.write_text(HARNESS)
        (work / "floor.py").write_text(FLOOR_APP)
        projects = {"ours": trained_project(work / "current")}
        if args.baseline:
            projects["@ " + args.baseline] = trained_project(
                work / "baseline", template_at(args.baseline, work))
        bodies = request_bodies(projects["ours"], work)
        v2 = f"/v2/models/{MODEL_NAME}/infer"
        runs = {}
        for name, project in projects.items():
            runs[f"{name} /predict"] = (project, "/predict", "ours")
            runs[f"{name} V2"] = (project, v2, "v2")
        runs["bare uvicorn floor"] = (projects["ours"], "floor", "floor")
        jobs = {(name, rows): (harness, project, route, bodies[body_format, rows], rows)
                for name, (project, route, body_format) in runs.items() for rows in TURNS}
        # One at a time: run side by side, repeated counts of the same code
        # spread by +-3,000 instructions a request at 1 row; one at a time, by
        # under 1,000 (measured 2026-12-07).
        counts = {key: per_request(*job) for key, job in jobs.items()}
    width = max(map(len, runs)) + 2
    print(f"instructions per request, {CONNECTIONS} connections (callgrind)")
    print(f"{'server':<{width}}" + "".join(f"{f'{rows} rows':>12}" for rows in TURNS))
    for name in runs:
        print(f"{name:<{width}}" + "".join(f"{counts[name, rows]:>12,.0f}" for rows in TURNS))
    floor = counts["bare uvicorn floor", 1]
    print(f"\nat 1 row: floor / ours /predict {floor / counts['ours /predict', 1]:.2f}, "
          f"floor / ours V2 {floor / counts['ours V2', 1]:.2f}")
    if args.baseline:
        for route in ("/predict", "V2"):
            print(f"ours {route} / @ {args.baseline}: " + ", ".join(
                f"{counts[f'ours {route}', rows] / counts[f'@ {args.baseline} {route}', rows]:.2f}"
                f" at {rows} rows" for rows in TURNS))
    return 0


if __name__ == "__main__":
    sys.exit(main())

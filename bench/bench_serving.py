"""Serving speed of the generated API against the servers users would pick instead.

    .venv/bin/python bench/bench_serving.py [--duration 5] [--rounds 3] [--baseline main]

Every server serves the same trained default model (tumor-classifier, random
forest), one worker each, on 127.0.0.1, under the same wrk load: 1 and 100 rows
per request, 1 and 8 connections. All servers run side by side and each round
loads each of them once, in turn (median of the rounds). For each: requests/s,
p50 and p99 latency (wrk), resident memory of the server's process tree after
the load, and the time from process start to the first successful prediction.
Last, the peak memory of ours (and the baseline) under three concurrent 64 MB
headers.

- ours, POST /predict, and ours on the Open Inference Protocol (V2) route;
- with --baseline REF, ours on /predict as the template at git REF generates
  it (e.g. main: the figures before this branch's change, from the same run);
- MLServer 1.7.1 with mlserver-sklearn (V2, one process: parallel_workers 0);
- BentoML 1.4's scikit-learn service (workers=1);
- MLflow's scoring server (`mlflow models serve --env-manager local -w 1`);
- the floor: a bare uvicorn ASGI app (httptools, uvloop, as ours) that reads the
  body and returns a fixed JSON answer: what any ASGI app on uvicorn pays per
  request at least. Ours answers its prediction routes in uvicorn's HTTP
  protocol instead (serving/direct_routes.py), so it skips part of that cost.

The peers are installed into their own virtualenvs under build/bench-venvs on
first use, never into .venv. The in-process floor compares scikit-learn's
predict_proba on a DataFrame with our request path minus HTTP (from the JSON
body to the probabilities), and times ONNX Runtime's run alone.
Needs wrk (Debian package).
"""
import argparse
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import timeit
import urllib.error
import urllib.request
from pathlib import Path

from cookiecutter.main import cookiecutter

from common import TEMPLATE, load_arguments, sh, wrk_missing
from support.processes import free_port, wait_for

VENVS = TEMPLATE / "build" / "bench-venvs"
MODEL_PINS = ["scikit-learn==1.9.1", "pandas==3.1.1", "joblib==1.6.0", "numpy==2.4.6"]
PEER_PINS = {
    "mlflow": ["mlflow==3.17.2", *MODEL_PINS],
    "mlserver": ["mlserver==1.7.1", "mlserver-sklearn==1.7.1", *MODEL_PINS],
    "bentoml": ["bentoml==1.4.40", *MODEL_PINS],
}
MODULE = "tumor_classifier"
MODEL_NAME = "tumor-classifier"
ROW_COUNTS = (1, 100)
CONNECTIONS = (1, 8)

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local body_file = io.open(os.getenv("BENCH_BODY"), "r")
wrk.body = body_file:read("*a")
body_file:close()
"""

# Saves the pipeline as an MLflow model whose pyfunc returns probabilities,
# with a signature, so MLflow validates inputs as our API does.
SAVE_MLFLOW_MODEL = """
import sys, joblib, pandas as pd, mlflow.sklearn
from mlflow.models import infer_signature
model = joblib.load(sys.argv[1])
features = pd.read_csv(sys.argv[2]).drop(columns=["target"])
mlflow.sklearn.save_model(model, sys.argv[3], pyfunc_predict_fn="predict_proba",
                          serialization_format="cloudpickle",
                          signature=infer_signature(features, model.predict_proba(features)))
"""

# BentoML's scikit-learn service, as its docs shape one: rows in, probabilities out.
BENTO_SERVICE = """
import bentoml, joblib, pandas as pd

@bentoml.service(workers=1)
class TumorClassifier:
    def __init__(self):
        self.model = joblib.load({model!r})
        self.columns = {columns!r}

    @bentoml.api
    def predict(self, rows: list[dict[str, float]]) -> dict:
        frame = pd.DataFrame(rows, columns=self.columns)
        return {{"probabilities": self.model.predict_proba(frame).round(6).tolist()}}
"""

# The floor: read the body, answer a fixed JSON document.
FLOOR_APP = """
ANSWER = b'{"predictions": [0], "probabilities": [[0.5, 0.5]]}'

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"application/json"), (b"content-length", b"%d" % len(ANSWER))]})
    await send({"type": "http.response.body", "body": ANSWER})
"""


def ensure_venv(name: str) -> Path:
    """The bin directory of build/bench-venvs/NAME, holding PEER_PINS[name]."""
    venv = VENVS / name
    marker = venv / "pins.txt"
    if not marker.exists() or marker.read_text() != "\n".join(PEER_PINS[name]):
        print(f"installing {name} into {venv} (once)", file=sys.stderr)
        shutil.rmtree(venv, ignore_errors=True)
        sh([sys.executable, "-m", "venv", str(venv)])
        sh([str(venv / "bin" / "pip"), "install", "--quiet", *PEER_PINS[name]])
        marker.write_text("\n".join(PEER_PINS[name]))
    return venv / "bin"


def trained_project(work: Path, template: Path = TEMPLATE) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    project = Path(cookiecutter(str(template), no_input=True, output_dir=str(work)))
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "DVC_NO_ANALYTICS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    sh(["make", "repro", "PYTHON=python"], cwd=project, env=env)
    return project


def template_at(ref: str, work: Path) -> Path:
    """The template as git REF has it, exported to a directory."""
    directory = work / f"template-{ref.replace('/', '-')}"
    directory.mkdir()
    archive = subprocess.run(["git", "-C", str(TEMPLATE), "archive", ref], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive, check=True)
    return directory


def request_bodies(project: Path, work: Path) -> dict:
    """Body files per (format, rows): the same held-out rows in each server's format."""
    test = json.loads(json.dumps(
        __import__("pandas").read_csv(project / "data" / "prepared" / "test.csv")
        .drop(columns=["target"]).to_dict(orient="split")))
    columns = test["columns"]
    bodies = {}
    for rows in ROW_COUNTS:
        data = (test["data"] * 2)[:rows]
        records = [dict(zip(columns, values)) for values in data]
        formats = {
            "ours": records,
            "v2": {"inputs": [{"name": "features", "shape": [rows, len(columns)],
                               "datatype": "FP64",
                               "data": [value for row in data for value in row]}]},
            # MLServer's sklearn runtime builds a DataFrame from one input per column.
            "mlserver": {"parameters": {"content_type": "pd"},
                         "inputs": [{"name": name, "shape": [rows], "datatype": "FP64",
                                     "data": [row[i] for row in data]}
                                    for i, name in enumerate(columns)],
                         "outputs": [{"name": "predict_proba"}]},
            "bentoml": {"rows": records},
            "mlflow": {"dataframe_split": {"columns": columns, "data": data}},
            "floor": records,
        }
        for name, body in formats.items():
            path = work / f"{name}-{rows}.json"
            path.write_text(json.dumps(body))
            bodies[name, rows] = path
    return bodies


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()
        return response.status


def process_tree(pid: int) -> list:
    """``pid`` and all its descendants."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        tree.append(current)
    return tree


def process_tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants."""
    total = 0
    for member in process_tree(pid):
        try:
            match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{member}/status").read_text())
        except OSError:
            continue
        total += int(match.group(1)) * 1024 if match else 0
    return total


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) ``pid`` and its descendants have used. On a
    shared machine this per-request cost is steadier than requests/s."""
    ticks = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


class Server:
    def __init__(self, name, command, cwd, env, predict_url, body):
        self.name, self.predict_url = name, predict_url
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        self.startup = self.wait_first_prediction(body.read_bytes())

    def wait_first_prediction(self, body: bytes) -> float:
        wait_for(f"{self.name} to answer a prediction",
                 lambda: post(self.predict_url, body) == 200,
                 timeout=180, process=self.process, interval=0.02)
        return time.perf_counter() - self.started

    def stop(self):
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def wrk(url: str, body: Path, connections: int, duration: int, script: Path,
        server_pid: int = None) -> dict:
    env = {**os.environ, "BENCH_BODY": str(body)}
    subprocess.run(["wrk", "-t1", "-c1", "-d1s", "-s", str(script), url],  # warm-up
                   env=env, check=True, capture_output=True)
    cpu_before = process_tree_cpu(server_pid) if server_pid else 0
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url],
        env=env, check=True, capture_output=True, text=True).stdout
    cpu = process_tree_cpu(server_pid) - cpu_before if server_pid else 0
    if "Non-2xx" in output:
        raise RuntimeError(f"non-2xx answers under load:\n{output}")

    def latency(percent):
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    requests = int(re.search(r"(\d+) requests in", output).group(1))
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
            "p50_ms": latency(50), "p99_ms": latency(99), "cpu_us": cpu / requests * 1e6}


def interleaved_load(servers: dict, formats: dict, bodies: dict, rounds: int, duration: int,
                     script: Path) -> dict:
    """Per server and case, the median run of ``rounds``: each round loads every
    server once, in a rotating order, so a busy spell on a shared machine
    hits all servers alike instead of whichever ran then."""
    runs = {name: {} for name in servers}
    names = list(servers)
    for rows in ROW_COUNTS:
        for connections in CONNECTIONS:
            case = f"{rows} rows, {connections} conn"
            for turn in range(rounds):
                shift = turn % len(names)
                for name in names[shift:] + names[:shift]:
                    runs[name].setdefault(case, []).append(wrk(
                        servers[name].predict_url, bodies[formats[name], rows], connections,
                        duration, script, servers[name].process.pid))
    return {name: {case: median_run(case_runs) for case, case_runs in cases.items()}
            for name, cases in runs.items()}


def median_run(case_runs: list) -> dict:
    def median(key):
        return sorted(run[key] for run in case_runs)[len(case_runs) // 2]

    return {"rps": median("rps"), "p50_ms": median("p50_ms"), "p99_ms": median("p99_ms"),
            "cpu_us": median("cpu_us"), "all_rps": [run["rps"] for run in case_runs]}


def peak_rss_under_huge_headers(server: "Server", clients: int = 3, size: int = 64 * 2**20):
    """The server's peak resident MB (VmHWM) before and after ``clients``
    connections each send a header of ``size`` bytes at once."""
    def peak() -> float:
        status = Path(f"/proc/{server.process.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024

    def send_huge_header():
        port = int(server.predict_url.split(":")[2].split("/")[0])
        chunk = b"a" * 2**20
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: bench\r\nX-Big: ")
                for _ in range(size // len(chunk)):
                    sock.sendall(chunk)
        except OSError:  # refused mid-way: what a bounded server does
            pass

    before = peak()
    threads = [threading.Thread(target=send_huge_header) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(0.5)
    return {"before_mb": before, "after_mb": peak()}


def in_process_floor(project: Path) -> dict:
    """Microseconds per call without HTTP: scikit-learn on a DataFrame vs our
    request path from the JSON body (decoding, checks, ONNX Runtime)."""
    import joblib
    import pandas as pd
    sys.path.insert(0, str(project / "src"))
    from tumor_classifier.serving.config import Settings
    from tumor_classifier.serving.model import Model
    from tumor_classifier.serving.predict import PredictEndpoint
    from tumor_classifier.serving.validation import RowValidator

    model = joblib.load(project / "models" / "model.joblib")
    onnx_model = Model(project / "models" / "model.onnx", project / "models" / "schema.json")
    endpoint = PredictEndpoint(onnx_model, "", RowValidator(onnx_model.features), None,
                               Settings())
    test = pd.read_csv(project / "data" / "prepared" / "test.csv").drop(columns=["target"])
    floor = {}
    for rows in ROW_COUNTS:
        frame = pd.concat([test, test])[:rows]
        body = json.dumps(frame.to_dict(orient="records")).encode()
        calls = 2000 if rows == 1 else 200
        sklearn = min(timeit.repeat(lambda: model.predict_proba(frame), number=calls // 10,
                                    repeat=3)) / (calls // 10)
        ours = min(timeit.repeat(lambda: onnx_model.predict(endpoint.matrix_of(body, {})[0]),
                                 number=calls, repeat=3)) / calls
        matrix = endpoint.matrix_of(body, {})[0]
        onnx = min(timeit.repeat(lambda: onnx_model.predict(matrix), number=calls,
                                 repeat=3)) / calls
        floor[f"{rows} rows"] = {"sklearn_us": sklearn * 1e6, "ours_us": ours * 1e6,
                                 "onnx_us": onnx * 1e6}
    return floor


def peer_servers(project: Path, work: Path) -> dict:
    """name -> (command, cwd, env, url, body format) for each peer."""
    peers = {}
    bins = {name: ensure_venv(name) for name in PEER_PINS}

    def env_for(name, **extra):
        # Peers start helpers (uvicorn, python) by name: their venv comes first.
        return {**os.environ, "PATH": f"{bins[name]}{os.pathsep}{os.environ['PATH']}", **extra}

    mlflow_model = work / "mlflow-model"
    sh([str(bins["mlflow"] / "python"), "-c", SAVE_MLFLOW_MODEL,
        str(project / "models" / "model.joblib"),
        str(project / "data" / "prepared" / "test.csv"), str(mlflow_model)])
    port = free_port()
    peers["mlflow"] = (
        [str(bins["mlflow"] / "mlflow"), "models", "serve", "-m", str(mlflow_model),
         "--env-manager", "local", "-w", "1", "-h", "127.0.0.1", "-p", str(port)],
        work, env_for("mlflow", MLFLOW_TRACKING_URI=f"file://{work / 'mlruns'}"),
        f"http://127.0.0.1:{port}/invocations", "mlflow")

    models = work / "mlserver"
    (models / MODEL_NAME).mkdir(parents=True)
    shutil.copy(project / "models" / "model.joblib", models / MODEL_NAME / "model.joblib")
    (models / MODEL_NAME / "model-settings.json").write_text(json.dumps({
        "name": MODEL_NAME, "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib"}}))
    port = free_port()
    (models / "settings.json").write_text(json.dumps({
        "host": "127.0.0.1", "http_port": port, "grpc_port": free_port(),
        "metrics_port": free_port(), "parallel_workers": 0}))
    peers["mlserver"] = ([str(bins["mlserver"] / "mlserver"), "start", str(models)], models,
                         env_for("mlserver"),
                         f"http://127.0.0.1:{port}/v2/models/{MODEL_NAME}/infer", "mlserver")

    columns = list(__import__("pandas").read_csv(
        project / "data" / "prepared" / "test.csv", nrows=1).drop(columns=["target"]).columns)
    bento = work / "bento"
    bento.mkdir()
    (bento / "service.py").write_text(BENTO_SERVICE.format(
        model=str(project / "models" / "model.joblib"), columns=columns))
    port = free_port()
    peers["bentoml"] = ([str(bins["bentoml"] / "bentoml"), "serve", "service:TumorClassifier",
                         "--host", "127.0.0.1", "--port", str(port)], bento,
                        env_for("bentoml", BENTOML_DO_NOT_TRACK="true",
                                BENTOML_HOME=str(work / "bentoml-home")),
                        f"http://127.0.0.1:{port}/predict", "bentoml")
    return peers


def ours(project: Path, route: str, body_format: str) -> tuple:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "PORT": str(port)}
    return ([sys.executable, "-m", f"{MODULE}.serving"], project, env,
            f"http://127.0.0.1:{port}{route}", body_format)


def floor_server(work: Path) -> tuple:
    (work / "floor.py").write_text(FLOOR_APP)
    port = free_port()
    return ([sys.executable, "-m", "uvicorn", "floor:app", "--host", "127.0.0.1", "--port",
             str(port), "--http", "httptools", "--loop", "uvloop", "--no-access-log"],
            work, {**os.environ, "PYTHONPATH": str(work)},
            f"http://127.0.0.1:{port}/", "floor")


TITLES = {"ours": "ours /predict", "ours-v2": "ours V2", "baseline": "ours /predict @ REF",
          "mlserver": "MLServer (V2)", "bentoml": "BentoML", "mlflow": "MLflow",
          "floor": "bare uvicorn floor"}


def report(results: dict) -> str:
    servers = [name for name in TITLES if name in results]
    width = max(len(TITLES[name]) for name in servers) + 2
    cases = list(results["ours"]["load"])
    lines = ["req/s (p50 / p99 ms)", f"{'server':<{width}}" + "".join(
        f"{case:>26}" for case in cases) + f"{'RSS MB':>8}{'start s':>9}"]
    for name in servers:
        result = results[name]
        cells = "".join(
            f"{load['rps']:>9.0f} ({load['p50_ms']:.2f} / {load['p99_ms']:.2f})".rjust(26)
            for load in result["load"].values())
        lines.append(f"{TITLES[name]:<{width}}{cells}{result['rss_mb']:>8.0f}"
                     f"{result['startup_s']:>9.2f}")
    target = "1 rows, 8 conn"

    def rps(name):
        return results[name]["load"][target]["rps"] if name in results else float("nan")

    def ratio(value: float, digits: int, unit: str = "") -> str:
        return "(not run)" if math.isnan(value) else f"{value:.{digits}f}{unit}"

    def round_ratios(mine: str, other: str) -> str:
        """The median of each round's ratio, and their range. Both servers of a
        round ran minutes apart at most; the rounds' medians can be further."""
        if mine not in results or other not in results:
            return "(not run)"
        ratios = sorted(a / b for a, b in zip(results[mine]["load"][target]["all_rps"],
                                              results[other]["load"][target]["all_rps"]))
        return f"{ratios[len(ratios) // 2]:.2f} (rounds {ratios[0]:.2f} to {ratios[-1]:.2f})"

    fastest_peer = max(rps("mlserver"), rps("bentoml"))
    lines += ["", f"at {target}: ours / fastest of MLServer and BentoML "
                  f"{ratio(rps('ours') / fastest_peer, 1, 'x')} (target >= 5); ours / floor "
                  f"{round_ratios('ours', 'floor')} (target >= 0.7); V2 / predict "
                  f"{round_ratios('ours-v2', 'ours')} (target >= 0.85)"]
    lines += ["", "server CPU per request, us (the ratio a busy machine distorts least)",
              f"{'server':<{width}}" + "".join(f"{case:>18}" for case in cases)]
    for name in servers:
        lines.append(f"{TITLES[name]:<{width}}" + "".join(
            f"{load['cpu_us']:>18.0f}" for load in results[name]["load"].values()))
    if "baseline" in results:
        pairs = list(zip(results["ours"]["load"].values(), results["baseline"]["load"].values()))
        worst = min(mine["rps"] / before["rps"] for mine, before in pairs)
        costliest = max(mine["cpu_us"] / before["cpu_us"] for mine, before in pairs)
        lines.append(f"ours vs ours @ REF, worst case: {worst:.3f}x the req/s, "
                     f"{costliest:.3f}x the CPU per request (target: >= 0.95x, <= 1.05x)")
    for name, memory in results.get("header_memory", {}).items():
        lines.append(f"{TITLES[name]}: peak RSS {memory['before_mb']:.0f} MB, after three "
                     f"concurrent 64 MB headers {memory['after_mb']:.0f} MB")
    lines += ["", f"{'in-process floor':<20} {'sklearn us':>11} {'ours us':>13} {'ratio':>7}"
                  f"{'ONNX Runtime alone us':>23}"]
    for case, floor in results["floor_in_process"].items():
        lines.append(f"{case:<20} {floor['sklearn_us']:>11.0f} {floor['ours_us']:>13.1f} "
                     f"{floor['sklearn_us'] / floor['ours_us']:>6.0f}x{floor['onnx_us']:>23.1f}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    load_arguments(parser, "server")
    parser.add_argument("--baseline", metavar="REF",
                        help="also serve the project the template at git REF generates")
    parser.add_argument("--only", nargs="*", choices=list(TITLES), help="serve only these")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if wrk_missing():
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        work = Path(tmp)
        project = trained_project(work / "current")
        bodies = request_bodies(project, work)
        script = work / "post.lua"
        script.write_text(WRK_SCRIPT)
        results = {"floor_in_process": in_process_floor(project)}
        specs = {"ours": ours(project, "/predict", "ours"),
                 "ours-v2": ours(project, f"/v2/models/{MODEL_NAME}/infer", "v2")}
        if args.baseline:
            baseline = trained_project(work / "baseline", template_at(args.baseline, work))
            specs["baseline"] = ours(baseline, "/predict", "ours")
        if not args.only or {"mlserver", "bentoml", "mlflow"} & set(args.only):
            specs.update(peer_servers(project, work))
        specs["floor"] = floor_server(work)
        specs = {name: spec for name, spec in specs.items()
                 if not args.only or name in args.only or name == "ours"}
        servers = {}
        try:
            for name, (command, cwd, env, url, body_format) in specs.items():
                print(f"starting {name}", file=sys.stderr)
                servers[name] = Server(name, command, cwd, env, url, bodies[body_format, 1])
            loads = interleaved_load(servers, {name: spec[4] for name, spec in specs.items()},
                                     bodies, args.rounds, args.duration, script)
            for name, server in servers.items():
                results[name] = {"startup_s": server.startup, "load": loads[name],
                                 "rss_mb": process_tree_rss(server.process.pid) / 2**20}
            results["header_memory"] = {name: peak_rss_under_huge_headers(servers[name])
                                        for name in ("ours", "baseline") if name in servers}
        finally:
            for server in servers.values():
                server.stop()
    print(report(results).replace("REF", args.baseline or "REF"))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

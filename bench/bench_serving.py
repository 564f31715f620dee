"""Serving speed of the generated API against MLflow's scoring server.

    .venv/bin/python bench/bench_serving.py [--duration 10] [--json out.json]

Both serve the same trained default model (tumor-classifier, random forest),
one worker each, one after the other on 127.0.0.1, under the same wrk load:
1 and 100 rows per request, 1 and 8 connections. For each: requests/s, p50
and p99 latency (wrk), resident memory of the server's process tree after the
load, and the time from process start to the first successful prediction.
The in-process floor compares scikit-learn's predict_proba with our request
path minus HTTP (validate + onnxruntime) for the same rows.

MLflow (`mlflow models serve --env-manager local -w 1`) is installed into its
own virtualenv, build/bench-venv, never into .venv. Needs wrk (Debian package).
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import timeit
import urllib.error
import urllib.request
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
BENCH_VENV = TEMPLATE / "build" / "bench-venv"
MLFLOW_PINS = ["mlflow==3.17.2", "scikit-learn==1.9.1", "pandas==3.1.1", "joblib==1.6.0",
               "numpy==2.4.6"]
MODULE = "tumor_classifier"
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


def sh(command, cwd=None, env=None):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{command[:3]} exited {result.returncode}:\n{result.stderr[-3000:]}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_mlflow_venv() -> Path:
    mlflow = BENCH_VENV / "bin" / "mlflow"
    if not mlflow.exists():
        print(f"installing MLflow into {BENCH_VENV} (once)", file=sys.stderr)
        sh([sys.executable, "-m", "venv", str(BENCH_VENV)])
        sh([str(BENCH_VENV / "bin" / "pip"), "install", "--quiet", *MLFLOW_PINS])
    return mlflow


def trained_project(work: Path) -> Path:
    project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(work)))
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "DVC_NO_ANALYTICS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    sh(["make", "repro", "PYTHON=python"], cwd=project, env=env)
    return project


def request_bodies(project: Path, work: Path) -> dict:
    """Body files per (server, rows): the same held-out rows in each API's format."""
    test = json.loads(json.dumps(
        __import__("pandas").read_csv(project / "data" / "prepared" / "test.csv")
        .drop(columns=["target"]).to_dict(orient="split")))
    bodies = {}
    for rows in ROW_COUNTS:
        data = (test["data"] * 2)[:rows]
        ours = [dict(zip(test["columns"], values)) for values in data]
        mlflow = {"dataframe_split": {"columns": test["columns"], "data": data}}
        for server, body in (("ours", ours), ("mlflow", mlflow)):
            path = work / f"{server}-{rows}.json"
            path.write_text(json.dumps(body))
            bodies[server, rows] = path
    return bodies


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()
        return response.status


def process_tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(match.group(1)) * 1024 if match else 0
    return total


class Server:
    def __init__(self, name, command, cwd, env, predict_url, body):
        self.name, self.predict_url = name, predict_url
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        self.startup = self.wait_first_prediction(body.read_bytes())

    def wait_first_prediction(self, body: bytes) -> float:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} server exited with {self.process.returncode}")
            try:
                if post(self.predict_url, body) == 200:
                    return time.perf_counter() - self.started
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.02)
        raise TimeoutError(f"{self.name} server never answered a prediction")

    def stop(self):
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def wrk(url: str, body: Path, connections: int, duration: int, script: Path) -> dict:
    env = {**os.environ, "BENCH_BODY": str(body)}
    subprocess.run(["wrk", "-t1", "-c1", "-d1s", "-s", str(script), url],  # warm-up
                   env=env, check=True, capture_output=True)
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url],
        env=env, check=True, capture_output=True, text=True).stdout
    if "Non-2xx" in output:
        raise RuntimeError(f"non-2xx answers under load:\n{output}")

    def latency(percent):
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
            "p50_ms": latency(50), "p99_ms": latency(99)}


def serve_and_load(name, command, cwd, env, url, bodies, duration, script) -> dict:
    server = Server(name, command, cwd, env, url, bodies[name, 1])
    try:
        result = {"startup_s": server.startup, "load": {}}
        for rows in ROW_COUNTS:
            for connections in CONNECTIONS:
                result["load"][f"{rows} rows, {connections} conn"] = wrk(
                    url, bodies[name, rows], connections, duration, script)
        result["rss_mb"] = process_tree_rss(server.process.pid) / 2**20
        return result
    finally:
        server.stop()


def in_process_floor(project: Path) -> dict:
    """Microseconds per call without HTTP: scikit-learn vs our validate + ONNX path."""
    import joblib
    import pandas as pd
    sys.path.insert(0, str(project / "src"))
    from tumor_classifier.serving.model import Model
    from tumor_classifier.serving.validation import RowValidator

    model = joblib.load(project / "models" / "model.joblib")
    onnx_model = Model(project / "models" / "model.onnx", project / "models" / "schema.json")
    validator = RowValidator(onnx_model.features)
    test = pd.read_csv(project / "data" / "prepared" / "test.csv").drop(columns=["target"])
    floor = {}
    for rows in ROW_COUNTS:
        frame = pd.concat([test, test])[:rows]
        records = frame.to_dict(orient="records")
        calls = 2000 if rows == 1 else 200
        sklearn = min(timeit.repeat(lambda: model.predict_proba(frame), number=calls // 10,
                                    repeat=3)) / (calls // 10)
        ours = min(timeit.repeat(lambda: onnx_model.predict(validator.matrix(records)),
                                 number=calls, repeat=3)) / calls
        floor[f"{rows} rows"] = {"sklearn_us": sklearn * 1e6, "ours_us": ours * 1e6}
    return floor


def report(results: dict) -> str:
    ours, mlflow = results["ours"], results["mlflow"]
    lines = [f"{'load':<20} {'ours req/s':>11} {'MLflow req/s':>13} {'ratio':>7} "
             f"{'ours p50/p99 ms':>16} {'MLflow p50/p99 ms':>18}"]
    for case, mine in ours["load"].items():
        theirs = mlflow["load"][case]
        lines.append(
            f"{case:<20} {mine['rps']:>11.0f} {theirs['rps']:>13.0f} "
            f"{mine['rps'] / theirs['rps']:>6.1f}x "
            f"{mine['p50_ms']:>7.2f}/{mine['p99_ms']:<8.2f} "
            f"{theirs['p50_ms']:>8.2f}/{theirs['p99_ms']:<8.2f}")
    lines.append(f"{'RSS after load (MB)':<20} {ours['rss_mb']:>11.0f} {mlflow['rss_mb']:>13.0f} "
                 f"{mlflow['rss_mb'] / ours['rss_mb']:>6.1f}x less")
    lines.append(f"{'start to 1st 200 (s)':<20} {ours['startup_s']:>11.2f} "
                 f"{mlflow['startup_s']:>13.2f} {mlflow['startup_s'] / ours['startup_s']:>6.1f}x "
                 f"faster")
    lines.append("")
    lines.append(f"{'in-process floor':<20} {'sklearn us':>11} {'ours us':>13} {'ratio':>7}")
    for case, floor in results["floor"].items():
        lines.append(f"{case:<20} {floor['sklearn_us']:>11.0f} {floor['ours_us']:>13.1f} "
                     f"{floor['sklearn_us'] / floor['ours_us']:>6.0f}x")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk not found: run scripts/install-system-deps.sh", file=sys.stderr)
        return 2
    mlflow = ensure_mlflow_venv()
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        work = Path(tmp)
        project = trained_project(work)
        bodies = request_bodies(project, work)
        script = work / "post.lua"
        script.write_text(WRK_SCRIPT)
        mlflow_model = work / "mlflow-model"
        sh([str(BENCH_VENV / "bin" / "python"), "-c", SAVE_MLFLOW_MODEL,
            str(project / "models" / "model.joblib"),
            str(project / "data" / "prepared" / "test.csv"), str(mlflow_model)])
        results = {"floor": in_process_floor(project)}
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(project / "src"), "PORT": str(port)}
        results["ours"] = serve_and_load(
            "ours", [sys.executable, "-m", f"{MODULE}.serving"], project, env,
            f"http://127.0.0.1:{port}/predict", bodies, args.duration, script)
        port = free_port()
        # MLflow starts `uvicorn` by name: its venv must come first on PATH.
        env = {**os.environ, "MLFLOW_TRACKING_URI": f"file://{work / 'mlruns'}",
               "PATH": f"{mlflow.parent}{os.pathsep}{os.environ['PATH']}"}
        results["mlflow"] = serve_and_load(
            "mlflow", [str(mlflow), "models", "serve", "-m", str(mlflow_model),
                       "--env-manager", "local", "-w", "1", "-h", "127.0.0.1",
                       "-p", str(port)],
            work, env, f"http://127.0.0.1:{port}/invocations", bodies, args.duration, script)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Cost of drift tracking: serving throughput with DRIFT_TRACKING on vs off.

    .venv/bin/python bench/bench_monitoring.py [--duration 5] [--rounds 3] [--json out.json]

Bakes the default project, trains it (make repro), then starts two API
processes side by side on 127.0.0.1, one with drift tracking on (the default)
and one with DRIFT_TRACKING=false, and loads them with wrk in alternating turns
(on, off, off, on, ...) so machine noise hits both alike. Cases: 1 and 100 rows
per request, 8 connections. Reports the median requests/s of each and the
on/off ratio (target: at least 0.9), plus the in-process cost of adding a
request's rows to the window and of one scrape's PSI computation.
Needs wrk (Debian package; scripts/install-system-deps.sh).
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_serving import (  # noqa: E402  (the sibling benchmark's helpers)
    MODULE, WRK_SCRIPT, Server, free_port, request_bodies, trained_project, wrk)
from common import load_arguments, wrk_missing  # noqa: E402

ROW_COUNTS = (1, 100)
CONNECTIONS = 8
TARGET_RATIO = 0.9


def start_servers(project: Path, bodies: dict) -> dict:
    servers = {}
    for mode, tracking in (("on", "true"), ("off", "false")):
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(project / "src"), "PORT": str(port),
               "DRIFT_TRACKING": tracking}
        servers[mode] = Server(f"drift {mode}", [sys.executable, "-m", f"{MODULE}.serving"],
                               project, env, f"http://127.0.0.1:{port}/predict",
                               bodies["ours", 1])
    return servers


def alternating_load(servers: dict, bodies: dict, rounds: int, duration: int,
                     script: Path) -> dict:
    results = {}
    for rows in ROW_COUNTS:
        runs = {"on": [], "off": []}
        for turn in range(rounds):
            order = ("on", "off") if turn % 2 == 0 else ("off", "on")
            for mode in order:
                runs[mode].append(wrk(servers[mode].predict_url, bodies["ours", rows],
                                      CONNECTIONS, duration, script))
        on = statistics.median(run["rps"] for run in runs["on"])
        off = statistics.median(run["rps"] for run in runs["off"])
        results[f"{rows} rows, {CONNECTIONS} conn"] = {
            "on_rps": on, "off_rps": off, "ratio": on / off,
            "on_p99_ms": statistics.median(run["p99_ms"] for run in runs["on"]),
            "off_p99_ms": statistics.median(run["p99_ms"] for run in runs["off"]),
            "runs": runs}
    return results


def in_process_cost(project: Path) -> dict:
    """Microseconds to add one request's rows, and to compute PSI for a scrape."""
    import numpy as np
    import pandas as pd
    sys.path.insert(0, str(project / "src"))
    from tumor_classifier.drift import DriftWindow, read_profile
    from tumor_classifier.serving.drift_gauges import DriftCollector

    test = pd.read_csv(project / "data" / "prepared" / "test.csv").drop(columns=["target"])
    window = DriftWindow(read_profile(project / "models" / "reference_profile.json"),
                         list(test.columns), 1000)
    collector = DriftCollector(window)
    costs = {}
    for rows in ROW_COUNTS:
        matrix = np.resize(test.to_numpy(dtype=float), (rows, test.shape[1]))
        costs[f"add {rows} rows us"] = min(timeit.repeat(
            lambda: collector.add(matrix), number=2000, repeat=3)) / 2000 * 1e6
    costs["scrape (PSI of all features) us"] = min(timeit.repeat(
        lambda: list(collector.collect()), number=200, repeat=3)) / 200 * 1e6
    return costs


def report(results: dict) -> str:
    lines = [f"{'load':<18} {'on req/s':>9} {'off req/s':>10} {'on/off':>7} "
             f"{'p99 on/off ms':>14}"]
    for case, result in results["load"].items():
        lines.append(f"{case:<18} {result['on_rps']:>9.0f} {result['off_rps']:>10.0f} "
                     f"{result['ratio']:>7.3f} "
                     f"{result['on_p99_ms']:>6.2f}/{result['off_p99_ms']:<6.2f}")
    lines.append("")
    for name, value in results["in_process"].items():
        lines.append(f"{name:<34} {value:>8.1f}")
    worst = min(result["ratio"] for result in results["load"].values())
    lines.append(f"\nworst on/off ratio {worst:.3f} (target >= {TARGET_RATIO})")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    load_arguments(parser, "mode")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if wrk_missing():
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-monitoring-") as tmp:
        work = Path(tmp)
        project = trained_project(work)
        bodies = request_bodies(project, work)
        script = work / "post.lua"
        script.write_text(WRK_SCRIPT)
        results = {"in_process": in_process_cost(project)}
        servers = start_servers(project, bodies)
        try:
            results["load"] = alternating_load(servers, bodies, args.rounds, args.duration,
                                               script)
        finally:
            for server in servers.values():
                server.stop()
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    worst = min(result["ratio"] for result in results["load"].values())
    return 0 if worst >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())

"""Where a predict's CPU time goes, by feature: py-spy samples of the live service under load.

The service runs as in the HTTP benchmark (one pinned worker, every production
feature on) while `bench.loadgen` sends `POST /v1/predict` with intervals at
concurrency 8; py-spy samples every thread 200 times a second. Each sample is
charged to the innermost frame that belongs to a feature below (a NumPy call made
by the engine is the engine's, a `json.dumps` made by the access log is the access
log's, pydantic called by FastAPI is FastAPI's), and the shares times the measured
server CPU per request give microseconds per request.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bench import servers
from bench.http_bench import AUTH, loadgen, ours_env
from bench.report import num, table
from bench.workload import Model, write_bodies

SECONDS = 10
# (feature, path fragments of the frames it owns), most specific first.
FEATURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "forecast: the engine (the compiled kernel, the network and its recursion, or NumPy)",
        ("/app/engine/",),
    ),
    ("forecast: pipeline, seasonal index, intervals", ("/app/contract/", "/app/forecaster.py")),
    ("data plane: checks, warnings, batching", ("/app/dataplane.py", "/app/coalescing.py")),
    ("answer: response schema built from the forecast", ("/app/v1/schemas.py",)),
    (
        "access log: one JSON line per request",
        ("/app/http/middleware/access_log.py", "/app/logs.py"),
    ),
    ("metrics: Prometheus counters and histogram", ("prometheus_client/", "/app/metrics.py")),
    ("API key check", ("/app/http/auth.py", "fastapi/security/")),
    (
        "fast lane: matching, reading the body, answering (`app/http/fast_lane.py`)",
        ("/app/http/fast_lane.py",),
    ),
    (
        "load shedding, body-size limit, request context",
        ("/app/http/middleware/", "/app/request_context.py", "/app/http/offload.py"),
    ),
    (
        "FastAPI and Starlette: routing, dependencies, body validation, serialisation",
        ("fastapi/", "starlette/", "pydantic", "anyio/"),
    ),
    ("uvicorn: HTTP parsing and writing, the event loop", ("uvicorn/", "uvloop", "httptools")),
)
OTHER = "other (interpreter, standard library at top level)"


def measure(model: Model, serve_python: str, logs: Path) -> dict[str, Any]:
    """Profile ours under the concurrency-8 predict load; shares by feature and CPU/request."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    body = write_bodies(logs)["predict_file"]
    raw = logs / "predict-profile.txt"
    with servers.serve(
        "ours-profiled",
        servers.service(serve_python),
        ours_env(model),
        logs,
        port_env=servers.SERVICE_PORT_ENV,
    ) as server:
        url = f"{server.url}/v1/predict"
        loadgen(url, body, 8, 2.0, 0.5, headers=AUTH)  # warm
        record = subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(server.process.pid),
                "--duration",
                str(SECONDS),
                "--rate",
                "200",
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        load = loadgen(url, body, 8, SECONDS + 1, 0.0, server_pid=server.process.pid, headers=AUTH)
        record.wait(timeout=60)
    return {
        "shares": shares(raw),
        "cpu_us_per_request": load["cpu_us_per_request"],
        "rps": load["rps"],
    }


def shares(raw: Path) -> dict[str, float]:
    """Fraction of the samples charged to each feature (py-spy's raw, collapsed format)."""
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        counts[_owner(stack.split(";"))] += int(n)
    total = sum(counts.values()) or 1
    return {feature: counts[feature] / total for feature in (*dict(FEATURES), OTHER)}


def _owner(frames: list[str]) -> str:
    for frame in reversed(frames):  # innermost first
        # "func (path:line)"; py-spy prints the service's own files relative to its
        # working directory ("app/engine/layers.py"), so anchor every path at "/".
        where = "/" + frame.rpartition(" (")[2].lstrip("/")
        for feature, fragments in FEATURES:
            if any(fragment in where for fragment in fragments):
                return feature
    return OTHER


def render(result: dict[str, Any]) -> list[str]:
    cpu = result["cpu_us_per_request"] or 0.0
    rows = [
        [feature, num(100 * share, 1, " %"), num(share * cpu, 0, " µs")]
        for feature, share in sorted(result["shares"].items(), key=lambda kv: -kv[1])
        if share > 0
    ]
    return [
        *table(["feature", "share of the server's CPU", "per request"], rows),
        "",
        f"`POST /v1/predict` with intervals at concurrency 8: {num(result['rps'])} req/s,"
        f" {num(cpu, 0, ' µs')} of server CPU per request. py-spy, {SECONDS} s at 200 samples/s"
        " of every thread; each sample is charged to the innermost frame that belongs to a"
        " feature (`bench/stack_profile.py` lists them).",
    ]

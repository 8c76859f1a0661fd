"""HTTP benchmark: the service's predict route against its own ceiling and the naive peer.

Three servers run side by side, each one uvicorn worker on 127.0.0.1 pinned to
the same CPU (the load generator gets the other one):

- ours, `python -m app` (as `make serve` and the image run it) from the serving venv
  (no TensorFlow installed), with `FORECAST_ENABLE_BENCH_ROUTES=1`, which adds the
  ceiling route `POST /bench/validate` (everything `/v1/predict` does with the same
  body but the forecast: parse, validate, check, answer `{"ok": true}`);
- the naive peer, `bench.peer_app:app` (Keras `model.predict` per request);
- a canned-response server, to show the load generator's own ceiling.

Every round visits every cell (ceiling, predict and peer at each concurrency, then the
batch cells), so compared figures are measured seconds apart, not runs apart; each
figure is the median over the rounds.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import servers
from bench.report import median, num, ratio, table
from bench.workload import Model, predict_body, write_bodies

CEILING_PATH = "/bench/validate"
BENCH_ENV = {"FORECAST_ENABLE_BENCH_ROUTES": "1"}


@dataclass(frozen=True)
class Plan:
    """How long and how often: every cell runs `rounds` times for `warmup` + `duration` s."""

    duration: float = 3.0
    warmup: float = 0.5
    rounds: int = 3
    concurrencies: tuple[int, ...] = (1, 8, 32)
    batch_sizes: tuple[int, ...] = (100, 1000)
    batch_concurrencies: tuple[int, ...] = (1, 8)
    peer_warmup: float = 2.0  # the peer's requests take ~0.1-3 s: reach steady state first


def ours_env(model: Model) -> dict[str, str]:
    return {
        **servers.SERVICE_ENV,
        "FORECAST_MODEL_DIR": str(model.models_dir),
        "FORECAST_DEFAULT_MODEL": model.name,
    }


def peer_env(model: Model) -> dict[str, str]:
    return {"PEER_MODEL_DIR": str(model.version_dir), "TF_CPP_MIN_LOG_LEVEL": "2"}


def loadgen(
    url: str,
    body: Path | None,
    concurrency: int,
    duration: float,
    warmup: float,
    max_requests: int | None = None,
    server_pid: int | None = None,
) -> dict[str, Any]:
    """One fixed-duration run of `bench.loadgen` in a subprocess pinned to the client CPU."""
    command = [sys.executable, "-m", "bench.loadgen", "--url", url]
    command += ["--concurrency", str(concurrency), "--duration", str(duration)]
    command += ["--warmup", str(warmup)]
    if body is not None:
        command += ["--body-file", str(body)]
    else:
        command += ["--method", "GET"]
    if max_requests is not None:
        command += ["--max-requests", str(max_requests)]
    if server_pid is not None:
        command += ["--server-pid", str(server_pid)]
    if servers.CLIENT_CPU is not None:
        command += ["--cpu", str(servers.CLIENT_CPU)]
    limit = warmup + duration + 120
    out = subprocess.run(command, capture_output=True, text=True, timeout=limit, check=True)
    summary: dict[str, Any] = json.loads(out.stdout)
    return summary


def measure(
    model: Model, serve_python: str, peer_python: str, logs: Path, plan: Plan
) -> dict[str, Any]:
    """Run every cell `plan.rounds` times; return the per-round summaries and the setup."""
    values = write_bodies(logs, plan.batch_sizes)
    cells: dict[str, list[dict[str, Any]]] = {}

    def cell(key: str, server: servers.Server, path: str, body: Path, c: int, warm: float) -> None:
        pid = server.process.pid
        summary = loadgen(f"{server.url}{path}", body, c, plan.duration, warm, server_pid=pid)
        cells.setdefault(key, []).append(summary)
        print(f"bench http: {key}: {summary['rps']:.1f} req/s", file=sys.stderr)

    with ExitStack() as stack:
        ours, ceiling_source = _start_ours(stack, model, serve_python, logs)
        peer_app = servers.uvicorn(peer_python, "bench.peer_app:app")
        peer = stack.enter_context(
            servers.serve("peer", peer_app, peer_env(model), logs, timeout=180)
        )
        agreement = _check_same_answer(ours.port, peer.port, values["predict"])
        canned = stack.enter_context(_canned(logs))
        body = values["predict_file"]
        batch_path = f"/v1/models/{model.name}/predict/batch"
        for _ in range(plan.rounds):
            cell("loadgen ceiling c=32", canned, "/", body, 32, plan.warmup)
            for c in plan.concurrencies:
                cell(f"ceiling c={c}", ours, CEILING_PATH, body, c, plan.warmup)
                cell(f"predict c={c}", ours, "/v1/predict", body, c, plan.warmup)
                cell(f"peer c={c}", peer, "/v1/predict", body, c, plan.peer_warmup)
            for n in plan.batch_sizes:
                for c in plan.batch_concurrencies:
                    batch = values[f"batch_{n}_file"]
                    cell(f"batch {n} c={c}", ours, batch_path, batch, c, plan.warmup)
    return {
        "cells": cells,
        "ceiling_source": ceiling_source,
        "agreement": agreement,
        "plan": dataclasses.asdict(plan),
        "pinned": servers.PINNING,
    }


def _start_ours(
    stack: ExitStack, model: Model, python: str, logs: Path
) -> tuple[servers.Server, str]:
    """The service with its bench hook, which must answer the ceiling route."""
    env = {**ours_env(model), **BENCH_ENV}
    server = stack.enter_context(
        servers.serve("ours", servers.service(python), env, logs, port_env=servers.SERVICE_PORT_ENV)
    )
    status = servers.request(server.port, "POST", CEILING_PATH, predict_body([700.0] * 40))[0]
    if status != 200:
        raise RuntimeError(f"POST {CEILING_PATH} answered {status}: is the bench hook gone?")
    return server, "`python -m app` with `FORECAST_ENABLE_BENCH_ROUTES=1`"


def _check_same_answer(ours: int, peer: int, body: dict[str, Any]) -> float | None:
    """|ours - peer| for the benchmark body: both must be computing the same forecast."""
    a = servers.request(ours, "POST", "/v1/predict", body)
    b = servers.request(peer, "POST", "/v1/predict", body)
    if a[0] != 200 or b[0] != 200:
        raise RuntimeError(f"predict failed: ours {a}, peer {b}")
    return float(abs(a[1]["forecast"][0] - b[1]["forecast"][0]))


def _canned(logs: Path) -> Any:
    command = [sys.executable, "-m", "bench.canned_server", "--seconds", "900", "--port"]
    return servers.serve("canned", lambda port: [*command, str(port)], {}, logs, ready_path="/")


def figures(runs: list[dict[str, Any]]) -> dict[str, float | None]:
    """Median over rounds of each figure; errors summed; throughput range kept."""
    rps = [r["rps"] for r in runs]
    keys = ("rps", "p50_ms", "p90_ms", "p99_ms", "cpu_us_per_request")
    out: dict[str, float | None] = {key: median(r.get(key) for r in runs) for key in keys}
    out.update(rps_min=min(rps), rps_max=max(rps), errors=sum(r["errors"] for r in runs))
    return out


LABELS = {
    "ceiling": "ceiling: `POST /bench/validate` (parse + validate only)",
    "predict": "**ours: `POST /v1/predict`**",
    "peer": "naive peer: Keras `model.predict` per request",
}


def render(result: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The HTTP tables, and the figures the targets are judged on."""
    cells = {key: figures(runs) for key, runs in result["cells"].items()}
    plan = result["plan"]
    judged: dict[str, Any] = {"ratios": {}, "p99_c8_ms": cells.get("predict c=8", {}).get("p99_ms")}
    rows, ratios = [], []
    for c in plan["concurrencies"]:
        for key, label in LABELS.items():
            f = cells[f"{key} c={c}"]
            rows.append([label, str(c), _rps(f), *_latencies(f), _cpu(f), num(f["errors"])])
        pred, ceil, peer = (cells[f"{k} c={c}"] for k in ("predict", "ceiling", "peer"))
        judged["ratios"][c] = (_pct(pred["rps"], ceil["rps"]), ratio(pred["rps"], peer["rps"]))
        by_cpu = _pct(ceil["cpu_us_per_request"], pred["cpu_us_per_request"])
        ratios.append(
            [
                str(c),
                num(judged["ratios"][c][0], 0, " %"),
                num(by_cpu, 0, " %"),
                num(judged["ratios"][c][1], 0, "x"),
                num(ratio(peer["cpu_us_per_request"], pred["cpu_us_per_request"]), 0, "x"),
            ]
        )
    header = ["server: route", "concurrency", "req/s (min to max)", "p50", "p90", "p99"]
    lines = [
        *table([*header, "server CPU per request", "errors"], rows),
        "",
        *table(
            [
                "concurrency",
                "predict / ceiling, req/s",
                "(by server CPU per request)",
                "predict / peer, req/s",
                "(by server CPU per request)",
            ],
            ratios,
        ),
        "",
        "Batch endpoint, `POST /v1/models/{name}/predict/batch`, horizon 1, 36 values per series:",
        "",
        *_batch_table(cells, plan),
        "",
        *_notes(result, cells["loadgen ceiling c=32"]["rps"]),
    ]
    return lines, judged


def _batch_table(cells: dict[str, dict[str, float | None]], plan: dict[str, Any]) -> list[str]:
    rows = []
    for n in plan["batch_sizes"]:
        for c in plan["batch_concurrencies"]:
            f = cells[f"batch {n} c={c}"]
            forecasts = None if f["rps"] is None else f["rps"] * n
            cpu = f["cpu_us_per_request"]
            per_forecast = None if cpu is None else cpu / n
            rows.append(
                [
                    f"{n:,}",
                    str(c),
                    _rps(f),
                    num(forecasts),
                    *_latencies(f)[::2],
                    num(per_forecast, 1, " µs"),
                    num(f["errors"]),
                ]
            )
    header = ["series per request", "concurrency", "req/s (min to max)", "forecasts/s"]
    return table([*header, "p50", "p99", "server CPU per forecast", "errors"], rows)


def _notes(result: dict[str, Any], loadgen_capacity: float | None) -> list[str]:
    plan = result["plan"]
    return [
        f"Ours served as {result['ceiling_source']}. Each cell: {plan['warmup']:g} s warm-up "
        f"(peer: {plan['peer_warmup']:g} s), then {plan['duration']:g} s measured; "
        f"{plan['rounds']} round(s), every round visiting every cell in turn; figures are the "
        "medians over the rounds (req/s range in brackets); latencies in ms, of the requests "
        "completed in the measured window. Server CPU per request: user + system CPU time of "
        "the server process (all threads, `/proc/<pid>/stat`) during the window over the "
        "requests completed in it; unlike req/s it barely moves when other processes take "
        "the CPU, so on a busy machine the CPU-based ratios are the steadier ones. Body: the "
        "last 36 months of the milk series, horizon 1; the peer's forecast differs from ours "
        f"by {result['agreement']:.1e} (float32 vs float64), so both do the same work.",
        "Load generator: `bench/loadgen.py`, closed loop (each connection sends its next "
        "request when the answer arrives; concurrency = requests in flight), HTTP/1.1 "
        "keep-alive, asyncio + uvloop. Its own capacity against a canned-response server "
        f"(`bench/canned_server.py`) on the same CPU at concurrency 32: "
        f"{num(loadgen_capacity)} req/s.",
        _pinning_note(result["pinned"]),
    ]


def _cpu(f: dict[str, float | None]) -> str:
    value = f["cpu_us_per_request"]
    if value is not None and value >= 10_000:
        return num(value / 1000, 0, " ms")
    return num(value, 0, " µs")


def _rps(f: dict[str, float | None]) -> str:
    return f"{_adaptive(f['rps'])} ({_adaptive(f['rps_min'])} to {_adaptive(f['rps_max'])})"


def _adaptive(value: float | None) -> str:
    """One decimal below 100, none above: 8.3 req/s, 1,234 req/s."""
    return num(value, 1 if (value or 0) < 100 else 0)


def _latencies(f: dict[str, float | None]) -> list[str]:
    return [num(f[k], 2 if (f[k] or 0) < 100 else 0) for k in ("p50_ms", "p90_ms", "p99_ms")]


def _pct(top: float | None, bottom: float | None) -> float | None:
    r = ratio(top, bottom)
    return None if r is None else 100 * r


def _pinning_note(pinned: bool) -> str:
    if pinned:
        return (
            f"Pinning: every server process runs on CPU {servers.SERVER_CPU} only and the load "
            f"generator on CPU {servers.CLIENT_CPU} (`sched_setaffinity`), so the Python client "
            "does not take the server's CPU time: the figures are one uvicorn worker on one core."
        )
    return "Pinning: not available here (needs Linux and 2+ CPUs); client and server share CPUs."

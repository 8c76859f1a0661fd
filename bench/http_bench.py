"""HTTP benchmark: the service's predict route against bare FastAPI and the naive peer.

Servers run side by side, each one uvicorn worker on 127.0.0.1 pinned to the same CPU
(the load generator gets the other one):

- bare: `bench.bare_app:app`, FastAPI with the service's request models and
  same-shaped answers built once, no middleware: the ceiling the framework allows, for
  one series and for a batch; uvicorn writes its default access log line per request, as
  ours writes its JSON one;
- quiet bare: the same without uvicorn's access log, the framework's own ceiling;
- ours: `python -m app` from the serving venv (no TensorFlow installed), as deployed,
  with every production feature on: the JSON access log, Prometheus metrics, request
  ids, load shedding, and an API key every request carries; plus
  `FORECAST_ENABLE_BENCH_ROUTES=1` for `POST /bench/validate` (our stack without the
  forecast); its predict also as an Open Inference Protocol infer of the same series;
- the naive peer, `bench.peer_app:app` (Keras `model.predict` per member per request);
- a canned-response server, to show the load generator's own ceiling.

Every round visits every cell, so compared figures are measured seconds apart, not
runs apart; each figure is the median over the rounds. Then the same service with
`WEB_CONCURRENCY=2` (both CPUs, shared with the load generator), against one worker.
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
from bench.workload import Model, write_bodies

CEILING_PATH = "/bench/validate"
API_KEY = "bench-key"  # a key set, and sent: the auth check is part of what is measured
AUTH = (f"Authorization: Bearer {API_KEY}",)


@dataclass(frozen=True)
class Plan:
    """How long and how often: every cell runs `rounds` times for `warmup` + `duration` s."""

    duration: float = 3.0
    warmup: float = 0.5
    rounds: int = 3
    concurrencies: tuple[int, ...] = (1, 8, 32)
    peer_concurrencies: tuple[int, ...] = (1, 8)
    batch_series: int = 1000
    batch_horizons: tuple[int, ...] = (1, 12)
    peer_warmup: float = 2.0  # the peer's requests take ~0.1-3 s: reach steady state first


def ours_env(model: Model, workers: int = 1) -> dict[str, str]:
    return {
        **servers.SERVICE_ENV,
        "FORECAST_MODEL_DIR": str(model.models_dir),
        "FORECAST_DEFAULT_MODEL": model.name,
        "FORECAST_ENABLE_BENCH_ROUTES": "1",
        "FORECAST_API_KEYS": API_KEY,
        "FORECAST_LOG_LEVEL": "info",
        "WEB_CONCURRENCY": str(workers),
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
    headers: tuple[str, ...] = (),
) -> dict[str, Any]:
    """One fixed-duration run of `bench.loadgen` in a subprocess pinned to the client CPU."""
    command = [sys.executable, "-m", "bench.loadgen", "--url", url]
    command += ["--concurrency", str(concurrency), "--duration", str(duration)]
    command += ["--warmup", str(warmup)]
    command += ["--body-file", str(body)] if body is not None else ["--method", "GET"]
    for header in headers:
        command += ["--header", header]
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
    bodies = write_bodies(logs, plan.batch_series, plan.batch_horizons)
    cells: dict[str, list[dict[str, Any]]] = {}

    def cell(
        key: str, server: servers.Server, path: str, body: Path, c: int, warm: float, auth: bool
    ) -> None:
        summary = loadgen(
            f"{server.url}{path}",
            body,
            c,
            plan.duration,
            warm,
            server_pid=server.process.pid,
            headers=AUTH if auth else (),
        )
        cells.setdefault(key, []).append(summary)
        print(f"bench http: {key}: {summary['rps']:.1f} req/s", file=sys.stderr)

    with ExitStack() as stack:
        ours = stack.enter_context(_ours(model, serve_python, logs, workers=1))
        bare_app = servers.uvicorn(serve_python, "bench.bare_app:app")
        bare = stack.enter_context(servers.serve("bare", bare_app, {}, logs, ready_path="/docs"))
        quiet_app = servers.uvicorn(serve_python, "bench.bare_app:app", "--no-access-log")
        quiet = stack.enter_context(servers.serve("quiet", quiet_app, {}, logs, ready_path="/docs"))
        peer_app = servers.uvicorn(peer_python, "bench.peer_app:app")
        peer = stack.enter_context(
            servers.serve("peer", peer_app, peer_env(model), logs, timeout=180)
        )
        agreement = _check_same_answer(ours.port, peer.port, bodies["predict"])
        canned = stack.enter_context(_canned(logs))
        batch_path = f"/v1/models/{model.name}/predict/batch"
        v2_path = f"/v2/models/{model.name}/infer"
        for _ in range(plan.rounds):
            cell("loadgen ceiling c=32", canned, "/", bodies["plain_file"], 32, plan.warmup, False)
            for c in plan.concurrencies:
                for key, server in (("bare", bare), ("quiet", quiet)):
                    cell(
                        f"{key} c={c}",
                        server,
                        "/v1/predict",
                        bodies["predict_file"],
                        c,
                        plan.warmup,
                        False,
                    )
                for key, body in (("predict", "predict_file"), ("plain", "plain_file")):
                    cell(f"{key} c={c}", ours, "/v1/predict", bodies[body], c, plan.warmup, True)
                cell(f"v2 c={c}", ours, v2_path, bodies["v2_file"], c, plan.warmup, True)
                cell(f"stack c={c}", ours, CEILING_PATH, bodies["plain_file"], c, plan.warmup, True)
                if c in plan.peer_concurrencies:
                    cell(
                        f"peer c={c}",
                        peer,
                        "/v1/predict",
                        bodies["plain_file"],
                        c,
                        plan.peer_warmup,
                        False,
                    )
            for h in plan.batch_horizons:
                for key, server in (("bare batch", bare), ("batch", ours)):
                    cell(
                        f"{key} h={h}",
                        server,
                        batch_path,
                        bodies[f"batch_h{h}_file"],
                        1,
                        plan.warmup,
                        server is ours,
                    )
    scaling = _scaling(model, serve_python, logs, plan, bodies["predict_file"])
    return {
        "cells": cells,
        "scaling": scaling,
        "agreement": agreement,
        "plan": dataclasses.asdict(plan),
        "pinned": servers.PINNING,
        "model": model.describe(),
    }


def _ours(model: Model, python: str, logs: Path, workers: int) -> Any:
    name = "ours" if workers == 1 else f"ours-{workers}-workers"
    return servers.serve(
        name,
        servers.service(python),
        ours_env(model, workers),
        logs,
        port_env=servers.SERVICE_PORT_ENV,
        pin=workers == 1,
    )


def _scaling(
    model: Model, python: str, logs: Path, plan: Plan, body: Path
) -> dict[str, list[dict[str, Any]]]:
    """Predict with intervals at concurrency 8 and 32: one pinned worker, then two unpinned."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for workers in (1, 2):
        with _ours(model, python, logs, workers) as server:
            for _ in range(plan.rounds):
                for c in (8, 32):
                    summary = loadgen(
                        f"{server.url}/v1/predict",
                        body,
                        c,
                        plan.duration,
                        plan.warmup,
                        headers=AUTH,
                    )
                    runs.setdefault(f"{workers} c={c}", []).append(summary)
                    print(
                        f"bench http: {workers} worker(s) c={c}: {summary['rps']:.0f} req/s",
                        file=sys.stderr,
                    )
    return runs


def _check_same_answer(ours: int, peer: int, body: dict[str, Any]) -> float:
    """|ours - peer| for the benchmark body: both must be computing the same forecast."""
    a = servers.request(ours, "POST", "/v1/predict", body, headers={"Authorization": AUTH[0][15:]})
    b = servers.request(peer, "POST", "/v1/predict", body)
    if a[0] != 200 or b[0] != 200:
        raise RuntimeError(f"predict failed: ours {a}, peer {b}")
    return float(abs(a[1]["forecast"][0] - b[1]["forecast"][0]))


def _canned(logs: Path) -> Any:
    command = [sys.executable, "-m", "bench.canned_server", "--seconds", "1800", "--port"]
    return servers.serve("canned", lambda port: [*command, str(port)], {}, logs, ready_path="/")

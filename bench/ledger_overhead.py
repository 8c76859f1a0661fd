"""The ledger's cost on the forecast path: forecasts by id with the ledger off, and on.

Servers run side by side, each `python -m app` as deployed (one uvicorn worker pinned to
the server CPU, JSON access log, metrics, an API key every request carries), serving the
same catalog model: one with `FORECAST_LEDGER=false`, one per database with the ledger
on. Every round visits every cell, servers in a rotated order, so compared figures are
seconds apart; each figure is the median over the rounds. After each cell on a ledger-on
server the benchmark waits until its metrics say every forecast served is recorded (or
dropped), so one server's flush never lands in the next server's cell; how long that took
is the ledger's lag behind the load.

The load generator sends one body per cell: a predict by id names one series (the same
series every request; the rows it records are the same size whichever series it is),
a batch names 1,000.
"""

from __future__ import annotations

import http.client
import json
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.ledger.store import Ledger
from bench import servers
from bench.http_bench import API_KEY, AUTH, loadgen
from bench.ledger_db import Database, Databases
from bench.ledger_model import Catalog

OFF = "off"
SETTLE_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Plan:
    """Every cell runs `rounds` times for `warmup` + `duration` seconds."""

    duration: float = 3.0
    warmup: float = 0.5
    rounds: int = 5
    concurrency: int = 8
    batch_series: int = 1000
    batch_horizons: tuple[int, ...] = (1, 12)


def service_env(model: Catalog, ledger: dict[str, str]) -> dict[str, str]:
    return {
        **servers.SERVICE_ENV,
        "FORECAST_MODEL_DIR": str(model.models_dir),
        "FORECAST_DEFAULT_MODEL": model.name,
        "FORECAST_API_KEYS": API_KEY,
        "FORECAST_LOG_LEVEL": "info",
        **ledger,
    }


def start(model: Catalog, name: str, ledger: dict[str, str], logs: Path) -> Any:
    """`python -m app` serving the catalog, pinned to the server CPU, as a context manager."""
    env = service_env(model, ledger)
    command = servers.service(sys.executable)
    return servers.serve(name, command, env, logs, port_env=servers.SERVICE_PORT_ENV)


def measure(
    model: Catalog, databases: Databases, kinds: list[str], logs: Path, plan: Plan
) -> dict[str, Any]:
    """Every cell `plan.rounds` times on every server; then what each ledger holds."""
    workloads = _bodies(model, logs, plan)
    cells: dict[str, dict[str, list[dict[str, Any]]]] = {}
    counts: dict[str, dict[str, int]] = {}
    with ExitStack() as stack:
        off_dir = logs / "ledger-off-data"
        off = {"FORECAST_LEDGER": "false", "FORECAST_DATA_DIR": str(off_dir)}
        running: dict[str, tuple[servers.Server, Database | None]] = {
            OFF: (stack.enter_context(start(model, "ledger-off", off, logs)), None)
        }
        for kind in kinds:
            fresh = databases.fresh(kind)
            server = stack.enter_context(start(model, f"ledger-{kind}", fresh.env(), logs))
            running[kind] = (server, fresh)
        labels = list(running)
        for r in range(plan.rounds):
            order = labels[r % len(labels) :] + labels[: r % len(labels)]
            for workload, (path, body, concurrency) in workloads.items():
                for label in order:
                    server, db = running[label]
                    summary = loadgen(
                        f"{server.url}{path}",
                        body,
                        concurrency,
                        plan.duration,
                        plan.warmup,
                        server_pid=server.process.pid,
                        headers=AUTH,
                    )
                    summary["settle_s"] = None if db is None else settle(server)
                    cells.setdefault(workload, {}).setdefault(label, []).append(summary)
                    print(
                        f"bench ledger: {workload} ledger {label}: {summary['rps']:.1f} req/s",
                        file=sys.stderr,
                    )
        for label, (server, db) in running.items():
            if db is not None:
                settle(server)
                counts[label] = ledger_counts(server, db, model.name)
    return {"cells": cells, "counts": counts, "workloads": list(workloads)}


def _bodies(model: Catalog, logs: Path, plan: Plan) -> dict[str, tuple[str, Path, int]]:
    """Workload name -> (path, body file, concurrency)."""
    ids = model.ids
    predict = logs / "predict-by-id.json"
    predict.write_text(json.dumps({"series_id": ids[len(ids) // 2]}))
    out = {
        f"predict by id, c={plan.concurrency}": (
            f"/v1/models/{model.name}/predict",
            predict,
            plan.concurrency,
        )
    }
    for h in plan.batch_horizons:
        body = logs / f"batch-{plan.batch_series}-ids-h{h}.json"
        batch = [ids[i % len(ids)] for i in range(plan.batch_series)]
        body.write_text(json.dumps({"series_ids": batch, "horizon": h}))
        name = f"batch of {plan.batch_series:,} ids, h={h}, c=1"
        out[name] = (f"/v1/models/{model.name}/predict/batch", body, 1)
    return out


def metric_sums(port: int) -> dict[str, float]:
    """Every metric of the server's /metrics, summed over its label sets."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    sums: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            key = name.split("{", 1)[0]
            sums[key] = sums.get(key, 0.0) + float(value)
    return sums


def _written(sums: dict[str, float]) -> tuple[int, int, int]:
    """(forecast values served, recorded, dropped) by the server's own counters."""
    served = sums.get("forecast_forecast_values_total", 0.0)
    recorded = sums.get("forecast_ledger_forecasts_recorded_total", 0.0)
    dropped = sums.get("forecast_ledger_forecasts_dropped_total", 0.0)
    return int(served), int(recorded), int(dropped)


def settle(server: servers.Server) -> float:
    """Seconds until every forecast the server served is recorded or counted as dropped."""
    started = time.perf_counter()
    while time.perf_counter() - started < SETTLE_TIMEOUT_S:
        served, recorded, dropped = _written(metric_sums(server.port))
        if recorded + dropped >= served:
            return time.perf_counter() - started
        time.sleep(0.05)
    raise TimeoutError(f"{server.name}: the ledger still lags after {SETTLE_TIMEOUT_S:.0f} s")


def ledger_counts(server: servers.Server, db: Database, model: str) -> dict[str, Any]:
    """What the server says it served, recorded and dropped, the forecast values its
    database holds (packed in `served`, float64 points, or already in `forecasts`), and
    the `forecasts` rows once `Ledger.expand` has expanded what was packed (timed)."""
    served, recorded, dropped = _written(metric_sums(server.port))
    packed = db.count("SELECT coalesce(sum(length(points)), 0) / 8 FROM served")
    values = packed + db.count("SELECT count(*) FROM forecasts")
    ledger = Ledger(db.url)
    try:
        started = time.perf_counter()
        ledger.expand(model)
        expand_s = time.perf_counter() - started
    finally:
        ledger.close()
    rows = db.count("SELECT count(*) FROM forecasts")
    return {
        "served": served,
        "recorded": recorded,
        "dropped": dropped,
        "values": values,
        "packed": packed,
        "rows": rows,
        "expand_s": expand_s,
    }

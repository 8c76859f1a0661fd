"""Actuals into the ledger, and the accuracy answered from it: each database, side by side.

For each database, two fresh ledgers take the same actuals, `months` months of every
series of the catalog, through `POST /v1/models/{name}/observations` in sequential posts
of `post_rows` rows (one client, keep-alive; bodies encoded before the clock starts):

- one with no forecasts recorded: the upsert alone;
- one where a one-step forecast was recorded for every one of those series and months
  first, before the server starts, the way the service records them: each month's answer
  packed into one `served` row (`app.ledger.recorder.packed`, `Ledger.record_served`),
  then expanded into one `forecasts` row per value (`Ledger.expand`). The service's
  background pass scores them off the posts' path, every second, while the posts go
  on. How long after the last post was acknowledged every ingest was scored is read
  from the database (`ingests.scored`).

The second ledger then holds the catalog's series x months of scored forecasts:
`GET /v1/models/{name}/accuracy` (all series; then one series) is timed against it,
each call on its own, the median over `accuracy_calls`.
"""

from __future__ import annotations

import http.client
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.ledger.store import Ledger
from bench import servers
from bench.http_bench import AUTH
from bench.ledger_db import NAMES, Database, Databases
from bench.ledger_model import Catalog, Months, months_of, observation_rows, served_records
from bench.ledger_overhead import start

DEFAULT_BODY_LIMIT = 1 << 20  # FORECAST_MAX_BODY_BYTES's default
SCORE_TIMEOUT_S = 900.0
FILL_SERIES = 10_000  # series per answer recorded: one month of the catalog, one `served` row


@dataclass(frozen=True)
class Plan:
    months: int = 24  # months of actuals posted for every series
    post_rows: int = 10_000  # rows per post: one month of the catalog, under 1 MiB
    accuracy_calls: int = 10


def measure(
    model: Catalog, databases: Databases, kinds: list[str], logs: Path, plan: Plan
) -> dict[str, Any]:
    data = months_of(model, plan.months)
    rows = observation_rows(data)
    bodies = [
        json.dumps({"observations": rows[i : i + plan.post_rows]}, separators=(",", ":")).encode()
        for i in range(0, len(rows), plan.post_rows)
    ]
    limit = max(DEFAULT_BODY_LIMIT, max(map(len, bodies)) + 1024)
    extra = {} if limit == DEFAULT_BODY_LIMIT else {"FORECAST_MAX_BODY_BYTES": str(limit)}
    out: dict[str, Any] = {
        "series": len(data.ids),
        "months": plan.months,
        "observations": len(rows),
        "posts": len(bodies),
        "post_rows": plan.post_rows,
        "largest_body_bytes": max(map(len, bodies)),
        "body_limit": limit,
        "runs": {},
    }
    for kind in kinds:
        for recorded in (False, True):
            db = databases.fresh(kind)
            fill = _fill(model, db, data) if recorded else {}
            label = f"{NAMES[kind]}, {'forecasts recorded' if recorded else 'no forecasts'}"
            with start(model, f"ingest-{kind}-{int(recorded)}", db.env() | extra, logs) as server:
                run = _ingest(server, model, db, bodies, len(rows))
                run |= fill
                run["forecasts"] = data.size if recorded else 0
                if recorded:
                    run["accuracy"] = _accuracy(server, model, data, plan.accuracy_calls)
            out["runs"][label] = run
            obs_s = len(rows) / sum(run["post_s"])
            print(f"bench ledger: ingest {label}: {obs_s:,.0f} obs/s", file=sys.stderr)
    return out


def _fill(model: Catalog, db: Database, data: Months) -> dict[str, Any]:
    """Record a one-step forecast for every series and month of `data`, packed and then
    expanded; the seconds each took."""
    ledger = Ledger(db.url)
    try:
        ledger.migrate()
        started = time.perf_counter()
        for records in served_records(model, data, FILL_SERIES):
            ledger.record_served(records)
        recorded = time.perf_counter()
        expanded = ledger.expand(model.name)
        done = time.perf_counter()
    finally:
        ledger.close()
    if expanded != data.size:
        raise RuntimeError(f"expand wrote {expanded:,} forecasts, not {data.size:,}")
    return {"fill_s": recorded - started, "expand_s": done - recorded}


def _ingest(
    server: servers.Server, model: Catalog, db: Database, bodies: list[bytes], rows: int
) -> dict[str, Any]:
    """Post every body in turn; then wait for the background pass to score every ingest."""
    path = f"/v1/models/{model.name}/observations"
    headers = {"Content-Type": "application/json", "Authorization": AUTH[0].split(": ", 1)[1]}
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
    seconds = []
    try:
        for body in bodies:
            started = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
            seconds.append(time.perf_counter() - started)
            if response.status != 200:
                raise RuntimeError(f"observations: {response.status} {answer[:300]!r}")
    finally:
        conn.close()
    lag = db.wait_scored(SCORE_TIMEOUT_S)
    return {
        "post_s": seconds,
        "scored_after_last_post_s": lag,
        "stored": db.count("SELECT count(*) FROM observations"),
        "expected": rows,
        "scored": db.count("SELECT count(*) FROM forecasts WHERE actual IS NOT NULL"),
    }


def _accuracy(server: servers.Server, model: Catalog, data: Months, calls: int) -> dict[str, Any]:
    """Seconds per `GET /accuracy`, the whole model and one series; checks what it counts."""
    headers = {"Authorization": AUTH[0].split(": ", 1)[1]}
    out: dict[str, Any] = {}
    one = data.ids[len(data.ids) // 3]
    for label, query in (("model", ""), ("series", f"?series_id={one}")):
        times, answer = [], None
        for _ in range(calls):
            started = time.perf_counter()
            status, answer = servers.request(
                server.port, "GET", f"/v1/models/{model.name}/accuracy{query}", headers=headers
            )
            times.append(time.perf_counter() - started)
            if status != 200:
                raise RuntimeError(f"accuracy: {status} {answer}")
        assert answer is not None
        step = answer["versions"][0]["steps"][0]
        out[label] = {
            "seconds": times,
            "median_ms": 1000 * statistics.median(times),
            "n": step["n"],
            "rmse": step["rmse"],
            "coverage_95": step["coverage"]["95"],
            "anomalies": answer["anomalies"]["total"],
        }
    return out

"""Item 6: a soak of `python -m app` at concurrency 32, mixing predict, batch and evaluate.

Runs a warm-up (caches, pools and allocator arenas fill up), samples the server's
resident memory, then keeps the same load for `RELIABILITY_SOAK_SECONDS` (60) and
samples again. Every request must succeed, and memory may grow by at most 10 %:
a leak of even a few hundred bytes per request shows over tens of thousands.
"""

from __future__ import annotations

import asyncio
import collections
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from reliability_kit import SERIES, Running, run_app

DURATION = float(os.environ.get("RELIABILITY_SOAK_SECONDS", "60"))
WARMUP = min(10.0, max(2.0, DURATION / 6))
CONCURRENCY = 32
GROWTH = 0.10
# The client drops idle connections before uvicorn's keep-alive timeout (5 s) closes them.
# httpx's default is also 5 s, and then a POST sent on a connection the server closes at
# that very moment fails with a reset (seen here: a few per minute). That is the keep-alive
# race every client and proxy avoids by closing idle connections first, not a fault of load.
CLIENT_IDLE_SECONDS = 2.0

# Predict-heavy, like real traffic; both toy pipelines (plain and differenced).
MIX: list[tuple[str, dict[str, Any]]] = [
    ("/v1/predict", {"values": SERIES[-24:], "horizon": 3}),
    ("/v1/models/toy-diff/predict", {"values": SERIES, "horizon": 12}),
    ("/v1/models/toy/predict", {"values": SERIES[-12:]}),
    ("/v1/models/toy-diff/predict/batch", {"series": [SERIES[i % 60 :] for i in range(100)]}),
    ("/v1/models/toy/predict/batch", {"series": [SERIES] * 10, "horizon": 24}),
    ("/v1/models/toy/evaluate", {"values": SERIES}),
    ("/v1/models/toy-diff/evaluate", {"values": SERIES}),
    ("/v1/predict", {"values": SERIES, "horizon": 1}),
]


@dataclass
class Tally:
    """Answers by route, and the failures (first few kept whole)."""

    ok: collections.Counter[str] = field(default_factory=collections.Counter)
    failed: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.ok.values()) + len(self.failed)


async def worker(client: httpx.AsyncClient, start: int, until: float, tally: Tally) -> None:
    turn = start
    while time.monotonic() < until:
        path, body = MIX[turn % len(MIX)]
        turn += 1
        try:
            answer = await client.post(path, json=body)
        except httpx.HTTPError as exc:
            tally.failed.append(f"{path}: {type(exc).__name__}: {exc}")
            continue
        if answer.status_code == 200:
            tally.ok[path] += 1
        else:
            tally.failed.append(f"{path}: {answer.status_code} {answer.text[:200]}")


async def load(url: str, seconds: float, running: Running, rss: list[int]) -> Tally:
    """`CONCURRENCY` clients for `seconds`; samples the server's RSS every second."""
    tally = Tally()
    until = time.monotonic() + seconds
    limits = httpx.Limits(
        max_connections=CONCURRENCY,
        max_keepalive_connections=CONCURRENCY,
        keepalive_expiry=CLIENT_IDLE_SECONDS,
    )
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        workers = [asyncio.create_task(worker(client, i, until, tally)) for i in range(CONCURRENCY)]
        while time.monotonic() < until:
            rss.append(running.rss_kib())
            await asyncio.sleep(1)
        await asyncio.gather(*workers)
    return tally


def test_soak_has_no_failed_request_and_no_memory_growth(toy_models: Path, tmp_path: Path) -> None:
    env = {"FORECAST_MODEL_DIR": str(toy_models), "FORECAST_DEFAULT_MODEL": "toy"}
    with run_app(env, tmp_path / "server.log") as running:
        warm = asyncio.run(load(running.url, WARMUP, running, []))
        before = running.rss_kib()
        samples: list[int] = []
        started = time.monotonic()
        soak = asyncio.run(load(running.url, DURATION, running, samples))
        took = time.monotonic() - started
        after = running.rss_kib()
        errors = [r for r in running.records() if r.get("status", 0) >= 500 or "exc" in r]
    print(
        f"\nsoak: {soak.total} requests in {took:.1f} s ({soak.total / took:.0f}/s) at"
        f" concurrency {CONCURRENCY}, {len(soak.failed)} failed; warm-up {warm.total}"
        f" requests, {len(warm.failed)} failed"
    )
    print(f"by route: {dict(soak.ok)}")
    print(f"RSS: {before} KiB after warm-up, {after} KiB at the end, peak {max(samples)} KiB")
    assert warm.failed == [] and soak.failed == [], (warm.failed + soak.failed)[:5]
    assert soak.total > 0 and errors == [], errors[:5]
    assert after <= before * (1 + GROWTH), f"RSS grew from {before} to {after} KiB"

"""Item 7: SIGTERM under sustained load, not just with a few requests in flight.

`tests/live/test_shutdown.py` stops the server with three slow forecasts in flight and
no other traffic. Here sixteen clients keep forecasting back to back when the
signal arrives, so requests are in every state at once: being computed, queued
for a pool thread, half read, or just sent on a kept-alive connection. Expected:
every request the server took is answered 200 and delivered (the log's count of
200s equals the clients'), the only failures are connections the server no
longer accepted, and the process exits 0 within the shutdown deadline.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from reliability_kit import SERIES, run_app

CONCURRENCY = 16
HORIZON = 500  # recursive steps: milliseconds per forecast, so many are always in flight
LOAD_BEFORE = 3.0  # seconds of load before the signal
DEADLINE = 20  # FORECAST_SHUTDOWN_SECONDS


@dataclass
class Outcome:
    started: float
    ended: float
    status: int | None
    error: httpx.HTTPError | None


def not_accepted(error: httpx.HTTPError | None) -> bool:
    """Refused connections, or a kept-alive one closed before the server read the request."""
    if isinstance(error, httpx.ConnectError | httpx.ReadError | httpx.WriteError):
        return True
    return isinstance(error, httpx.RemoteProtocolError) and "without sending" in str(error)


async def client(url: str, outcomes: list[Outcome]) -> None:
    body = {"values": SERIES[-12:], "horizon": HORIZON}
    async with httpx.AsyncClient(base_url=url, timeout=DEADLINE + 10) as http:
        while True:
            started = time.monotonic()
            try:
                answer = await http.post("/v1/predict", json=body)
            except httpx.HTTPError as exc:
                outcomes.append(Outcome(started, time.monotonic(), None, exc))
                return  # the server is gone (or failed: asserted below)
            outcomes.append(Outcome(started, time.monotonic(), answer.status_code, None))
            if answer.status_code != 200:
                return


async def load_and_stop(url: str, stop: Callable[[], None]) -> tuple[list[Outcome], float]:
    """Clients forecast non-stop; `stop` is called mid-load; they run until turned away."""
    outcomes: list[Outcome] = []
    tasks = [asyncio.create_task(client(url, outcomes)) for _ in range(CONCURRENCY)]
    await asyncio.sleep(LOAD_BEFORE)
    sent = time.monotonic()
    stop()
    await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE + 15)
    return outcomes, sent


def test_sigterm_under_load_answers_everything_it_took_and_exits_0(
    toy_models: Path, tmp_path: Path
) -> None:
    env = {
        "FORECAST_MODEL_DIR": str(toy_models),
        "FORECAST_DEFAULT_MODEL": "toy",
        "FORECAST_MAX_HORIZON": str(HORIZON),
        "FORECAST_SHUTDOWN_SECONDS": str(DEADLINE),
    }
    with run_app(env, tmp_path / "server.log") as running:
        process = running.process
        outcomes, sent = asyncio.run(
            load_and_stop(running.url, lambda: process.send_signal(signal.SIGTERM))
        )
        code = process.wait(timeout=DEADLINE + 5)
        exited = time.monotonic() - sent
        records = running.records()

    before = [o for o in outcomes if o.ended < sent]
    in_flight = [o for o in outcomes if o.started < sent < o.ended]
    answered = [o for o in outcomes if o.status is not None]
    print(
        f"\n{len(before)} answered before SIGTERM; {len(in_flight)} in flight at it, of which"
        f" {sum(o.status == 200 for o in in_flight)} answered 200; exit {code} after {exited:.2f} s"
    )
    assert code == 0 and exited < DEADLINE
    assert before and all(o.status == 200 for o in before)
    assert all(o.status == 200 for o in answered), {o.status for o in answered}
    assert all(not_accepted(o.error) for o in outcomes if o.error), [
        repr(o.error) for o in outcomes if o.error and not not_accepted(o.error)
    ]
    assert sum(o.status == 200 for o in in_flight) >= CONCURRENCY // 2
    logged = [r for r in records if r.get("route") == "/v1/predict"]
    assert all(r["status"] == 200 for r in logged)
    assert len(logged) == len(answered), "a response the server sent never arrived"
    assert any(r.get("message") == "Application shutdown complete." for r in records)

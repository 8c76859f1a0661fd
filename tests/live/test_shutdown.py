"""Graceful shutdown of `python -m app`, live: SIGTERM with forecasts in flight.

Slow requests are ordinary ones made long by settings (a horizon of tens of
thousands of recursive steps), not a test-only code path.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from liveserver import LiveServer, live_server

from app.lifecycle import drain_on_signals

HISTORY = [600.0, 610.0, 620.0, 630.0]
SLOW = 30_000  # horizon steps: about a second and a half per request on a laptop
IN_FLIGHT = 3


def slow_env(toy_models: Path, shutdown_seconds: int) -> dict[str, str]:
    return {
        "FORECAST_MODEL_DIR": str(toy_models),
        "FORECAST_DEFAULT_MODEL": "toy",
        "FORECAST_MAX_HORIZON": "1000000",
        "FORECAST_MAX_WORK": "1000000000",  # slow on purpose: past the default work budget
        "FORECAST_SHUTDOWN_SECONDS": str(shutdown_seconds),
    }


def in_progress(url: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith("forecast_http_requests_in_progress "):
            return float(line.split()[-1])
    return 0.0


def fire(url: str, count: int, horizon: int, answers: list[object]) -> list[threading.Thread]:
    """Start `count` forecasts and return once the server reports all of them in flight."""

    def forecast() -> None:
        try:
            body = {"values": HISTORY, "horizon": horizon}
            answers.append(httpx.post(f"{url}/v1/predict", json=body, timeout=60))
        except httpx.HTTPError as exc:
            answers.append(exc)

    threads = [threading.Thread(target=forecast) for _ in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while in_progress(url) < count:
        assert time.monotonic() < deadline, "the requests never got in flight"
        time.sleep(0.01)
    return threads


def readiness_until_closed(url: str) -> list[int]:
    """Poll /ready until the server stops answering; the statuses it gave meanwhile."""
    statuses: list[int] = []
    while True:
        try:
            statuses.append(httpx.get(f"{url}/ready", timeout=5).status_code)
        except httpx.TransportError:
            return statuses


def stop(running: LiveServer) -> tuple[int, float]:
    started = time.monotonic()
    running.process.send_signal(signal.SIGTERM)
    return running.process.wait(timeout=60), started


def test_sigterm_lets_requests_in_flight_finish_then_exits_0(
    toy_models: Path, tmp_path: Path
) -> None:
    shutdown_seconds = 20
    answers: list[object] = []
    log = tmp_path / "log"
    with live_server(slow_env(toy_models, shutdown_seconds), log, runner=True) as running:
        threads = fire(running.url, IN_FLIGHT, SLOW, answers)
        sent = time.monotonic()
        running.process.send_signal(signal.SIGTERM)
        statuses = readiness_until_closed(running.url)
        with pytest.raises(httpx.TransportError):  # no new work once it stops answering
            httpx.post(f"{running.url}/v1/predict", json={"values": HISTORY})
        code = running.process.wait(timeout=shutdown_seconds + 5)
        took = time.monotonic() - sent
        for thread in threads:
            thread.join()
    assert code == 0 and took < shutdown_seconds
    assert all(s == 503 for s in statuses), statuses
    assert len(answers) == IN_FLIGHT
    for answer in answers:
        assert isinstance(answer, httpx.Response) and answer.status_code == 200, answer
        assert len(answer.json()["forecast"]) == SLOW
    records = [json.loads(line) for line in log.read_text().splitlines()]  # every line is JSON
    assert sum(r.get("route") == "/v1/predict" and r["status"] == 200 for r in records) == 3
    assert any(r["message"] == "Application shutdown complete." for r in records)


def test_readiness_answers_503_while_draining(toy_models: Path, tmp_path: Path) -> None:
    """Keep the server answering after SIGTERM (a request in flight holds it open) and ask
    /ready over a connection opened before the signal."""
    with live_server(slow_env(toy_models, 20), tmp_path / "log", runner=True) as running:
        answers: list[object] = []
        threads = fire(running.url, 1, SLOW, answers)
        with httpx.Client(base_url=running.url) as early:
            assert early.get("/ready").status_code == 200
            running.process.send_signal(signal.SIGTERM)
            try:
                late = early.get("/ready")
            except httpx.TransportError:  # uvicorn closed the idle connection first
                late = None
        code = running.process.wait(timeout=30)
        for thread in threads:
            thread.join()
    assert late is None or late.status_code == 503
    assert code == 0 and isinstance(answers[0], httpx.Response) and answers[0].status_code == 200


def test_requests_past_the_deadline_are_cut_and_the_process_still_exits(
    toy_models: Path, tmp_path: Path
) -> None:
    answers: list[object] = []
    with live_server(slow_env(toy_models, 1), tmp_path / "log", runner=True) as running:
        threads = fire(running.url, 2, 20 * SLOW, answers)
        code, started = stop(running)
        took = time.monotonic() - started
        for thread in threads:
            thread.join()
    # Uncut, the requests would run for about 30 s: ending within a few seconds of the
    # 1 s deadline shows they were cut (the slack is for a busy 2-core machine).
    assert code == 0 and took < 1 + 5
    assert all(not isinstance(a, httpx.Response) or a.status_code == 500 for a in answers)


def test_several_workers_stop_cleanly(toy_models: Path, tmp_path: Path) -> None:
    env = {**slow_env(toy_models, 20), "WEB_CONCURRENCY": "2"}
    with live_server(env, tmp_path / "log", runner=True) as running:
        answers: list[object] = []
        threads = fire(running.url, 2, SLOW, answers)
        code, _ = stop(running)
        for thread in threads:
            thread.join()
    assert code == 0
    assert [a.status_code for a in answers if isinstance(a, httpx.Response)] == [200, 200]


def test_draining_app_is_not_ready(client: TestClient) -> None:
    assert client.get("/ready").status_code == 200
    client.app.state.draining = True  # type: ignore[attr-defined]
    for path in ("/ready", "/v2/health/ready"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert "shutting down" in response.json()["error"]
    assert client.get("/health").status_code == 200
    assert client.post("/v1/predict", json={"values": HISTORY}).status_code == 200


def test_the_stop_signal_marks_the_app_draining_before_the_server_sees_it() -> None:
    """The chained handler runs in the main thread, as under uvicorn, in front of its handler."""
    app = FastAPI()
    app.state.draining = False
    seen: list[bool] = []
    original = signal.signal(signal.SIGTERM, lambda sig, frame: seen.append(app.state.draining))
    try:
        restore = drain_on_signals(app)
        signal.raise_signal(signal.SIGTERM)
        restore()
        assert seen == [True] and app.state.draining
        assert signal.getsignal(signal.SIGTERM) is not None
        app.state.draining = False
        signal.raise_signal(signal.SIGTERM)  # restored: the server's handler alone
        assert seen == [True, False]
    finally:
        signal.signal(signal.SIGTERM, original)

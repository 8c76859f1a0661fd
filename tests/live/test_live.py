"""The service as users run it: a real uvicorn process, its probes, a forecast, a clean stop."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest
from liveserver import ROOT, LiveServer, live_server
from modelkit import synthetic_series

SERIES = [float(v) for v in synthetic_series()]


def test_live_server_forecasts(server: LiveServer) -> None:
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}
    response = httpx.post(f"{server.url}/v1/predict", json={"values": SERIES, "horizon": 2})
    assert response.status_code == 200 and len(response.json()["forecast"]) == 2


def test_live_server_refuses_a_large_streamed_body(server: LiveServer) -> None:
    chunks = (b"[" + b"600.0," * 20_000 for _ in range(20))  # ~2.4 MB, no Content-Length
    response = httpx.post(
        f"{server.url}/v1/predict", content=chunks, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and response.json()["type"] == "payload_too_large"


def test_live_server_logs_no_tracebacks(server: LiveServer) -> None:
    httpx.post(f"{server.url}/v1/predict", content=b'{"values": [NaN]}')
    assert "Traceback" not in server.log.read_text()


def test_sigterm_stops_the_server_cleanly(toy_models: Path, tmp_path: Path) -> None:
    env = {"FORECAST_MODEL_DIR": str(toy_models), "FORECAST_DEFAULT_MODEL": "toy"}
    with live_server(env, tmp_path / "log") as running:
        running.process.send_signal(signal.SIGTERM)
        code = running.process.wait(timeout=15)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status shows it.
    assert code in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in (tmp_path / "log").read_text()


@pytest.mark.skipif(
    not (ROOT / "models" / "milk" / "1" / "manifest.json").exists(),
    reason="the committed model models/milk/1 is not there yet",
)
def test_live_server_with_the_committed_models(tmp_path: Path) -> None:
    with live_server({"FORECAST_MODEL_DIR": str(ROOT / "models")}, tmp_path / "log") as running:
        models = {m["name"]: m for m in httpx.get(f"{running.url}/v1/models").json()}
        assert models["milk"]["state"] == "ready"
        milk = [float(v) for v in range(600, 660)]
        response = httpx.post(f"{running.url}/v1/predict", json={"values": milk})
        assert response.status_code == 200 and response.json()["model"] == "milk"
        assert running.seconds_to_ready < 30

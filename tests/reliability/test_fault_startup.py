"""Item 7: the model directory is missing when the server starts.

`test_registry.py::test_a_missing_model_directory_serves_nothing` covers the
registry alone; here the process itself must come up alive but not ready, say
why, and become ready on its own once a valid model appears (polling), as when a
volume is mounted or a first model is copied in after the pod started.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
from reliability_kit import SERIES, run_app, wait_for


def test_missing_model_directory_alive_not_ready_then_ready_once_a_model_appears(
    toy_models: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"  # does not exist yet
    env = {
        "FORECAST_MODEL_DIR": str(models),
        "FORECAST_DEFAULT_MODEL": "toy",
        "FORECAST_POLL_SECONDS": "0.1",
    }
    with run_app(env, tmp_path / "server.log", wait_path="/health") as running:
        url = running.url
        assert httpx.get(f"{url}/health").json() == {"status": "ok"}
        for probe in ("/ready", "/v2/health/ready"):
            not_ready = httpx.get(f"{url}{probe}")
            assert not_ready.status_code == 503, probe
            error = not_ready.json()["error"]
            assert "default model 'toy' not found in the model directory" in error
            assert str(models) not in error  # the open probe shows no path: the log has it
        assert httpx.get(f"{url}/v1/models").json() == []
        refused = httpx.post(f"{url}/v1/predict", json={"values": SERIES})
        assert refused.status_code == 404 and refused.json()["type"] == "model_not_found"
        messages = [r["message"] for r in running.records()]
        assert f"no models under {models}" in messages
        assert "default model 'toy' is not served; /ready answers 503" in messages

        staging = tmp_path / ".models-staging"  # the whole directory appears at once
        shutil.copytree(toy_models, staging)
        staging.rename(models)
        wait_for(lambda: httpx.get(f"{url}/ready").status_code == 200, 15, "never became ready")

        answer = httpx.post(f"{url}/v1/predict", json={"values": SERIES})
        assert answer.status_code == 200 and answer.json()["version"] == 1
        assert "model toy now serves version 1 (was None; poll)" in [
            r["message"] for r in running.records()
        ]
        assert running.alive() and "Traceback" not in running.log.read_text()

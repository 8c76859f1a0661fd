"""The app factory: nothing happens at import, settings come from the environment at startup,
and the serving process never imports TensorFlow or Keras."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from liveserver import ROOT

from app.settings import Settings, get_settings

SERVE_AND_REPORT = """
import json, sys
from fastapi.testclient import TestClient
import app.main
with TestClient(app.main.app) as client:
    ready = client.get("/ready").status_code
    answer = client.post("/v1/predict", json={"values": [600.0, 610.0, 620.0]}).json()
    scrape = client.get("/metrics").text.splitlines()
    engine = [line for line in scrape if line.startswith("forecast_engine")]
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "torch"))
print(json.dumps({"ready": ready, "answer": answer, "heavy": heavy, "engine": engine}))
"""


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_serving_never_imports_tensorflow_or_keras(toy_models: Path) -> None:
    done = run_python(
        SERVE_AND_REPORT, FORECAST_MODEL_DIR=str(toy_models), FORECAST_DEFAULT_MODEL="toy"
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["ready"] == 200 and len(report["answer"]["forecast"]) == 1
    assert report["heavy"] == []
    assert "LSTM layers run on the compiled kernel" in done.stdout + done.stderr  # the start log
    assert report["engine"] == ["forecast_engine_compiled 1.0"]


def test_importing_the_app_reads_no_settings_and_loads_nothing() -> None:
    code = "import app.main; print(app.main.create_app.__name__)"
    done = run_python(code, FORECAST_MAX_VALUES="not a number", FORECAST_MODEL_DIR="/nonexistent")
    assert done.returncode == 0, done.stderr
    assert "no models" not in done.stderr


def test_invalid_settings_stop_the_startup_with_a_clear_error(tmp_path: Path) -> None:
    code = "import app.main, fastapi.testclient as t; t.TestClient(app.main.app).__enter__()"
    done = run_python(code, FORECAST_MAX_HORIZON="0", FORECAST_MODEL_DIR=str(tmp_path))
    assert done.returncode != 0 and "max_horizon" in done.stderr


def test_settings_come_from_prefixed_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORECAST_MODEL_DIR", "/srv/models")
    monkeypatch.setenv("FORECAST_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("FORECAST_DEFAULT_MODEL", "milk-seed")
    settings = Settings()
    assert settings.model_dir == Path("/srv/models") and settings.max_body_bytes == 2048
    assert settings.default_model == "milk-seed" and settings.max_horizon == 120


def test_defaults_match_the_documented_limits() -> None:
    defaults = Settings.model_construct()
    assert (defaults.max_values, defaults.max_series, defaults.max_horizon) == (10_000, 1_000, 120)
    assert defaults.max_body_bytes == 1 << 20 and defaults.model_dir == Path("models")


def test_get_settings_is_cached() -> None:
    assert get_settings() is get_settings()


def test_every_setting_is_documented() -> None:
    assert all(field.description for field in Settings.model_fields.values())


def test_a_running_app_keeps_what_startup_built_out_of_the_collectors_sight(
    toy_models: Path,
) -> None:
    """Frozen while it serves (no full collection walks the app's own objects), with a
    young generation collected every 10,000 allocations; both undone when it stops."""
    import gc

    from fastapi.testclient import TestClient

    from app.main import create_app

    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    app = create_app(Settings(model_dir=toy_models, default_model="toy", ledger=False))
    with TestClient(app):
        assert gc.get_freeze_count() > frozen
        assert gc.get_threshold()[0] == 10_000
    assert gc.get_threshold() == threshold and gc.get_freeze_count() == 0

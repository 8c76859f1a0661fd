"""`python -m app` runs uvicorn with the settings' production options."""

from __future__ import annotations

from app.serve import build_config
from app.settings import Settings


def test_uvicorn_gets_the_settings_timeouts_and_no_access_log() -> None:
    settings = Settings(host="0.0.0.0", port=9100, keep_alive_seconds=61, shutdown_seconds=7)
    config = build_config(settings, workers=1)
    assert (config.host, config.port) == ("0.0.0.0", 9100)
    assert config.timeout_keep_alive == 61
    assert config.timeout_graceful_shutdown == 7
    assert config.access_log is False and config.server_header is False


def test_idle_connections_outlive_a_load_balancers_idle_timeout() -> None:
    """Proxies keep idle upstream connections ~60 s; closing first races their reuse (502s)."""
    assert build_config(Settings(), workers=1).timeout_keep_alive > 60

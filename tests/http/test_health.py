"""The probes: `/health` while the process runs, `/ready` once the default model is served."""

from __future__ import annotations

from apikit import assert_error
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings


def test_health_is_ok(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}


def test_ready_lists_served_models(client: TestClient) -> None:
    body = client.get("/ready").json()
    assert body["default_model"] == "toy"
    assert {"name": "toy-diff", "version": 1} in body["models"]


def test_ready_is_503_when_the_default_model_is_missing(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"default_model": "nope"}))) as c:
        assert "'nope' not found" in assert_error(c.get("/ready"), 503, "model_not_ready")["error"]
        assert c.get("/health").status_code == 200

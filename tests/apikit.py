"""What the in-process route tests share: the toy series, error assertions, a registry that is
not ready, and how to make an app's every route answer from a registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from modelkit import synthetic_series

from app.dataplane import DataPlane
from app.http.deps import get_dataplane, get_registry
from app.registry import ModelState, Registry, ServedVersion
from app.settings import Settings

SERIES = [round(float(v), 3) for v in synthetic_series()]
JSON = {"content-type": "application/json"}


def post_raw(client: TestClient, path: str, text: str) -> Any:
    return client.post(path, content=text.encode(), headers=JSON)


def assert_error(response: Any, status: int, kind: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == kind and isinstance(body["error"], str) and body["error"]
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


class NotReadyRegistry(Registry):
    """Knows model `toy` but has no version of it that verifies."""

    def __init__(self) -> None:
        super().__init__(Path("unused"), loader=never_called)
        self.swap(ModelState("toy", (1,), None, {1: "sha256 mismatch"}))


def never_called(path: Path) -> ServedVersion:
    raise AssertionError(path)


def serve_registry(app: Any, registry: Registry, settings: Settings) -> None:
    """Make every route, data plane included, answer from `registry`."""
    app.dependency_overrides[get_registry] = lambda: registry
    app.dependency_overrides[get_dataplane] = lambda: DataPlane(registry, settings)

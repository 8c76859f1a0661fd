"""`/v1/models`: every model's state, one model's public manifest and report, and the answers
for a model that is unknown or not ready, on every route that names one."""

from __future__ import annotations

from typing import Any

import pytest
from apikit import SERIES, NotReadyRegistry, assert_error, serve_registry
from fastapi.testclient import TestClient
from modelkit import FAKE_PNG

from app.settings import Settings


def test_models_lists_state_and_versions(client: TestClient) -> None:
    models = {m["name"]: m for m in client.get("/v1/models").json()}
    assert models["toy"] == {
        "name": "toy",
        "state": "ready",
        "version": 1,
        "versions_on_disk": [1],
        "reason": None,
        "refused": {},
    }


def test_model_detail_is_the_public_manifest(client: TestClient) -> None:
    body = client.get("/v1/models/toy-diff").json()
    assert body["version"] == 1 and body["versions_on_disk"] == [1]
    assert body["pipeline"]["transform"] == "seasonal_and_first_difference"
    assert body["pipeline"]["look_back"] == 4 and body["pipeline"]["season_length"] == 12
    assert body["metrics"]["test"]["rmse"] == 10.0
    assert set(body["metrics"]["baselines"]) == {"persistence", "seasonal_naive"}
    assert {"architecture", "training", "data", "created_at"} <= set(body)
    assert "files" not in body


def test_report_is_the_stored_png(client: TestClient) -> None:
    response = client.get("/v1/models/toy/report.png")
    assert response.headers["content-type"] == "image/png"
    assert response.content == FAKE_PNG


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/v1/models/nope/predict", {"values": SERIES}),
        ("post", "/v1/models/nope/predict/batch", {"series": [SERIES]}),
        ("post", "/v1/models/nope/evaluate", {"values": SERIES}),
        ("get", "/v1/models/nope", None),
        ("get", "/v1/models/nope/report.png", None),
    ],
)
def test_unknown_model_is_404(client: TestClient, method: str, path: str, body: Any) -> None:
    response = client.request(method, path, json=body)
    assert "'nope'" in assert_error(response, 404, "model_not_found")["error"]


@pytest.fixture
def not_ready(client: TestClient, settings: Settings) -> TestClient:
    serve_registry(client.app, NotReadyRegistry(), settings)
    return client


@pytest.mark.parametrize(
    ("method", "path"),
    [  # not /ready: an open probe gives no reason's text (tests/http/test_ready_secrets.py)
        ("get", "/v1/models/toy"),
        ("get", "/v1/models/toy/report.png"),
        ("post", "/v1/predict"),
        ("post", "/v1/models/toy/predict"),
        ("post", "/v1/models/toy/evaluate"),
    ],
)
def test_not_ready_model_is_503_with_the_reason(
    not_ready: TestClient, method: str, path: str
) -> None:
    kwargs = {"json": {"values": SERIES}} if method == "post" else {}
    body = assert_error(getattr(not_ready, method)(path, **kwargs), 503, "model_not_ready")
    assert "sha256 mismatch" in body["error"]


def test_not_ready_model_is_listed_as_failed(not_ready: TestClient) -> None:
    [model] = not_ready.get("/v1/models").json()
    assert model["state"] == "failed" and model["version"] is None
    assert model["reason"] == "version 1: sha256 mismatch"


def test_an_unknown_model_lists_the_models_there_are(client: TestClient) -> None:
    body = assert_error(
        client.post("/v1/models/mlik/predict", json={"values": SERIES}), 404, "model_not_found"
    )
    assert body["error"] == "no model named 'mlik'; models: 'toy', 'toy-diff'"

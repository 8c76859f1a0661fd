"""The Open Inference Protocol (KServe V2), in process: server metadata, liveness and
readiness, model metadata (with the band outputs of a version with intervals) and model
readiness, and the 404/503 of a version, model or server that cannot answer.

Inference is in test_routes_infer.py, a real V2 client against a live server in
test_routes_tritonclient.py."""

from __future__ import annotations

import pytest
from apikit import NotReadyRegistry, serve_registry
from fastapi.testclient import TestClient
from v2kit import body, v2_error

from app.main import create_app
from app.settings import Settings

# --- server and model metadata ------------------------------------------------------------


def test_server_metadata(client: TestClient) -> None:
    assert client.get("/v2").json() == {
        "name": "lstm-forecast-service",
        "version": "0.1.0",
        "extensions": ["binary_tensor_data"],
    }


def test_server_live_and_ready(client: TestClient) -> None:
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}


def test_server_is_not_ready_without_the_default_model(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"default_model": "nope"}))) as c:
        assert "'nope' not found" in v2_error(c.get("/v2/health/ready"), 503)
        assert c.get("/v2/health/live").status_code == 200


def test_server_is_not_ready_while_draining(client: TestClient) -> None:
    client.app.state.draining = True  # type: ignore[attr-defined]  # what SIGTERM sets
    assert "shutting down" in v2_error(client.get("/v2/health/ready"), 503)
    assert client.get("/v2/health/live").status_code == 200


@pytest.mark.parametrize("path", ["/v2/models/toy-diff", "/v2/models/toy-diff/versions/1"])
def test_model_metadata_describes_the_tensors(client: TestClient, path: str) -> None:
    assert client.get(path).json() == {
        "name": "toy-diff",
        "versions": ["1"],
        "platform": "numpy_lstm",
        "inputs": [{"name": "values", "datatype": "FP64", "shape": [-1, -1]}],
        "outputs": [{"name": "forecast", "datatype": "FP64", "shape": [-1, -1]}],
    }


@pytest.mark.parametrize("path", ["/v2/models/toy/ready", "/v2/models/toy/versions/1/ready"])
def test_model_ready(client: TestClient, path: str) -> None:
    assert client.get(path).json() == {"name": "toy", "ready": True}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v2/models/toy/versions/2"),
        ("get", "/v2/models/toy/versions/2/ready"),
        ("post", "/v2/models/toy/versions/2/infer"),
        ("get", "/v2/models/toy/versions/latest"),
    ],
)
def test_only_the_served_version_can_be_addressed(
    client: TestClient, method: str, path: str
) -> None:
    kwargs = {"json": body()} if method == "post" else {}
    message = v2_error(client.request(method, path, **kwargs), 404)
    assert "is not served; version 1 is" in message


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v2/models/nope"),
        ("get", "/v2/models/nope/ready"),
        ("post", "/v2/models/nope/infer"),
    ],
)
def test_unknown_model_is_404(client: TestClient, method: str, path: str) -> None:
    kwargs = {"json": body()} if method == "post" else {}
    assert "'nope'" in v2_error(client.request(method, path, **kwargs), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/v2/models/toy"), ("get", "/v2/models/toy/ready"), ("post", "/v2/models/toy/infer")],
)
def test_not_ready_model_is_503(
    client: TestClient, settings: Settings, method: str, path: str
) -> None:
    serve_registry(client.app, NotReadyRegistry(), settings)
    kwargs = {"json": body()} if method == "post" else {}
    assert "sha256 mismatch" in v2_error(client.request(method, path, **kwargs), 503)


def test_metadata_lists_the_band_outputs_a_default_request_returns(client: TestClient) -> None:
    outputs = client.get("/v2/models/toy").json()["outputs"]
    assert [o["name"] for o in outputs] == [
        "forecast",
        "lower_80",
        "upper_80",
        "lower_95",
        "upper_95",
    ]
    assert [o["name"] for o in client.get("/v2/models/toy-diff").json()["outputs"]] == ["forecast"]

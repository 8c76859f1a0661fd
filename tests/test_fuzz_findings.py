"""Fast regression tests for what the reliability suite (tests/reliability) found, in process.

Schemathesis (`test_fuzz_openapi.py`) found the first four against a live server,
and the permission faults (`test_fault_permissions.py`) the last two; each is
pinned here so `make test` catches a regression without the minutes-long run.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from modelkit import synthetic_series

from app import registry as registry_module
from app.main import create_app
from app.registry import Registry, version_loader
from app.settings import Settings
from app.watcher import ModelWatcher

SERIES = [float(v) for v in synthetic_series(24)]


def test_a_body_that_is_not_utf8_is_invalid_input_not_an_undocumented_400(
    client: TestClient,
) -> None:
    refused = client.post(
        "/v1/predict", content=b'{"values": [\xff]}', headers={"content-type": "application/json"}
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "body"
    v2 = client.post("/v2/models/toy/infer", content=b"\xff\xfe\xfd")
    assert v2.status_code == 400  # the protocol's status for bad input, as documented


def test_json_nested_too_deep_is_invalid_input(client: TestClient) -> None:
    deep = b'{"values": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    refused = client.post("/v1/predict", content=deep, headers={"content-type": "application/json"})
    assert refused.status_code == 422 and "RecursionError" in refused.json()["error"]


@pytest.mark.parametrize("horizon", [3.0, 3])
def test_a_whole_number_written_with_a_decimal_point_is_an_integer(
    client: TestClient, horizon: float
) -> None:
    """JSON Schema's `integer`, which OpenAPI documents, includes 3.0."""
    answer = client.post("/v1/predict", json={"values": SERIES, "horizon": horizon})
    assert answer.status_code == 200 and len(answer.json()["forecast"]) == 3
    batch = {"inputs": [{"name": "values", "shape": [1, 24], "datatype": "FP64", "data": SERIES}]}
    infer = client.post("/v2/models/toy/infer", json={**batch, "parameters": {"horizon": 2.0}})
    assert infer.status_code == 200 and infer.json()["outputs"][0]["shape"] == [1, 2]


def test_an_open_server_documents_the_key_as_optional_and_every_401(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    secured = [
        op for methods in spec["paths"].values() for op in methods.values() if "security" in op
    ]
    assert len(secured) == 14  # every /v1 and /v2/models operation
    for operation in secured:
        assert operation["security"] == [{"HTTPBearer": []}, {}], operation["summary"]
        assert "401" in operation["responses"], operation["summary"]


def test_an_unreadable_model_directory_refuses_that_model_with_the_reason(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root reads anything, so the OS's refusal is simulated; the live test runs as nobody."""
    real = registry_module.list_versions

    def list_versions(model_dir: Path) -> list[int]:
        if model_dir.name == "toy-diff":
            raise PermissionError(errno.EACCES, "Permission denied", str(model_dir))
        return real(model_dir)

    monkeypatch.setattr(registry_module, "list_versions", list_versions)
    registry = Registry(models_dir, version_loader(0.5))
    ModelWatcher(registry, 0).load_all()
    state = registry.state("toy-diff")
    assert (
        not state.ready
        and state.reason == f"cannot list {models_dir / 'toy-diff'}: Permission denied"
    )
    assert registry.state("toy").ready


def test_an_unreadable_model_root_starts_alive_and_not_ready(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Path.iterdir

    def iterdir(path: Path) -> Iterator[Path]:
        if path == models_dir:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    settings = Settings(model_dir=models_dir, default_model="toy")
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 503
        assert client.get("/v1/models").json() == []

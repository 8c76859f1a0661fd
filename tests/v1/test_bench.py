"""`POST /bench/validate`: absent by default; when enabled, it refuses what `/v1/predict`
refuses and otherwise answers `{"ok": true}` without forecasting."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from modelkit import synthetic_series
from pydantic import SecretStr

from app.dataplane import DataPlane
from app.main import create_app
from app.settings import Settings

SERIES = [float(v) for v in synthetic_series()]
BENCH = "/bench/validate"


@pytest.fixture
def bench(settings: Settings) -> Iterator[TestClient]:
    small = settings.model_copy(update={"enable_bench_routes": True, "max_values": 50})
    with TestClient(create_app(small)) as c:
        yield c


def test_absent_by_default(client: TestClient) -> None:
    response = client.post(BENCH, json={"values": SERIES})
    assert response.status_code == 404 and response.json()["type"] == "not_found"
    assert BENCH not in client.get("/openapi.json").json()["paths"]


def test_valid_body_is_ok_without_forecasting(
    bench: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_forecast(*args: Any) -> None:
        raise AssertionError("the bench route must not forecast")

    monkeypatch.setattr(DataPlane, "_forecast", no_forecast)
    assert bench.post(BENCH, json={"values": SERIES[:50], "horizon": 3}).json() == {"ok": True}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"values": SERIES[:50], "horizen": 2}, "horizen"),
        ({"values": [600.0, None, 610.0]}, "values[1]"),
        ({"values": []}, "values"),
        ({"values": SERIES[:50], "horizon": 121}, "horizon"),
        ({"values": SERIES[:51]}, "values"),
        ({"values": SERIES[:2]}, "values"),
    ],
    ids=["unknown field", "null", "empty", "horizon over limit", "too many", "too few"],
)
def test_refuses_what_predict_refuses(bench: TestClient, body: dict[str, Any], field: str) -> None:
    for path in (BENCH, "/v1/predict"):
        response = bench.post(path, json=body)
        assert response.status_code == 422, (path, response.text)
        assert field in [e["field"] for e in response.json()["errors"]]


def test_needs_a_key_when_predict_does(settings: Settings) -> None:
    update = {"enable_bench_routes": True, "api_keys": SecretStr("bench-key")}
    with TestClient(create_app(settings.model_copy(update=update))) as c:
        assert c.post(BENCH, json={"values": SERIES}).status_code == 401
        authorized = {"Authorization": "Bearer bench-key"}
        assert c.post(BENCH, json={"values": SERIES}, headers=authorized).status_code == 200

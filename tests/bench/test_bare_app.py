"""The HTTP benchmark's baseline, bare FastAPI (`bench/bare_app.py`), answers what the
service answers, shape for shape: the ratios in BENCHMARKS.md compare the same work."""

from __future__ import annotations

from typing import Any

import pytest
from apikit import SERIES
from fastapi.testclient import TestClient

from bench.bare_app import app as bare_app


def shape(value: Any) -> Any:
    """A JSON value's structure: keys and list lengths, every number the same."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


@pytest.mark.parametrize(
    ("bare_path", "ours_path", "body"),
    [
        ("/v1/predict", "/v1/predict", {"values": SERIES}),
        (
            "/v1/models/milk/predict/batch",
            "/v1/models/toy/predict/batch",
            {"series": [SERIES[:40], SERIES[:60], SERIES], "horizon": 4},
        ),
        (
            "/v1/models/milk/predict/batch",
            "/v1/models/toy/predict/batch",
            {"series": [SERIES] * 7, "horizon": 1},
        ),
    ],
    ids=["predict", "batch-h4", "batch-h1"],
)
def test_bare_fastapi_answers_the_services_shape(
    client: TestClient, bare_path: str, ours_path: str, body: dict[str, Any]
) -> None:
    ours = client.post(ours_path, json=body)
    bare = TestClient(bare_app).post(bare_path, json=body)
    assert ours.status_code == bare.status_code == 200
    if bare_path == "/v1/predict":  # one answer for every body: the benchmark's, horizon 1
        assert ours.json()["horizon"] == 1
    assert shape(bare.json()) == shape(ours.json())

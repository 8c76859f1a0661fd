"""The field types both protocols validate requests against (`app/http/fields.py`)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from modelkit import synthetic_series

SERIES = [float(v) for v in synthetic_series(24)]


# Found by fuzzing: Schemathesis (tests/reliability/test_fuzz_openapi.py), live.
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

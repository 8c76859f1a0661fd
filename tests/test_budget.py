"""What one request may cost (issue 17, findings 1, 2 and 4, and V2's `lower_80.0`).

Each test sends what the issue's probe sent, scaled to the toy models: the refusals
must come as 4xx naming the limit, its setting and the request's own figure, alike
for v1 and V2, and the work must be judged before anything is computed.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from modelkit import synthetic_series

from app.budget import Work
from app.main import create_app
from app.settings import Settings

SERIES = [round(float(v), 3) for v in synthetic_series(40)]
INFER = "/v2/models/toy/infer"


def infer(rows: int, horizon: int, levels: list[float] | None, **fields: Any) -> dict[str, Any]:
    """A V2 body: `rows` copies of SERIES, `levels` as the comma-separated string V2 sends."""
    parameters: dict[str, Any] = {"horizon": horizon}
    if levels is not None:
        parameters["levels"] = ",".join(f"{level:g}" for level in levels)
    data = SERIES * rows
    tensor = {"name": "values", "shape": [rows, len(SERIES)], "datatype": "FP64", "data": data}
    return {"inputs": [tensor], "parameters": parameters, **fields}


def test_evaluate_beyond_the_work_budget_is_refused_before_it_starts(client: TestClient) -> None:
    """Finding 4: 10,000 values at horizon 120 took 9 s of CPU from a 56 KB body."""
    values = [round(float(v), 3) for v in synthetic_series(10_000)]
    refused = client.post("/v1/models/toy/evaluate", json={"values": values, "horizon": 120})
    assert refused.status_code == 422
    message = refused.json()["errors"][0]["message"]
    assert message.startswith("this request is 1,271,725 units of work (10,000 values")
    assert (
        "121 steps x 100 + 9,997 forecast origins x (121 steps x 1 network + 2 bounds x 2 levels)"
        in message
    )
    assert "at most 1,000,000 (FORECAST_MAX_WORK)" in message
    normal = client.post("/v1/models/toy/evaluate", json={"values": values[:168], "horizon": 24})
    assert normal.status_code == 200 and len(normal.json()["backtest"]) == 24


def test_v1_and_v2_refuse_a_batch_over_the_budget_alike(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"max_work": 900}))) as client:
        rows = [SERIES] * 5
        v1 = client.post("/v1/models/toy/predict/batch", json={"series": rows, "horizon": 6})
        v2 = client.post(INFER, json=infer(5, 6, None))
    assert v1.status_code == 422 and v2.status_code == 400
    assert v1.json()["error"] == v2.json()["error"]
    assert v1.json()["error"].startswith(
        "body: this request is 950 units of work (200 values + 6 steps x (100 + 5 series x"
        " (1 network + 2 bounds x 2 levels))); at most 900 (FORECAST_MAX_WORK)"
    )


def test_the_work_estimate_counts_every_term() -> None:
    work = Work.forecast(series=1_000, values=29_000, horizon=24, members=5, levels=300)
    assert work.units == 29_000 + 24 * (100 + 1_000 * (5 + 600))

"""What one request may cost (issue 17, findings 1, 2 and 4, and V2's `lower_80.0`).

Each test sends what the issue's probe sent, scaled to the toy models: the refusals
must come as 4xx naming the limit, its setting and the request's own figure, alike
for v1 and V2, and the work must be judged before anything is computed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient
from modelkit import synthetic_series

from app.budget import Work
from app.dataplane import DataPlane
from app.http.offload import INLINE_WORK, run_sized
from app.main import create_app
from app.settings import Settings
from app.v2.routes import _work
from app.v2.types import InferenceRequest

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


def distinct_levels(n: int) -> list[float]:
    return [round(1 + i * 98 / n, 4) for i in range(n)]


def test_v2_levels_are_capped_like_v1_before_any_is_read(client: TestClient) -> None:
    """Finding 1: 300 levels made a 148 KB body answer 258 MB; v1 already stopped at 10."""
    v2 = client.post(INFER, json=infer(2, 6, distinct_levels(300)))
    assert v2.status_code == 400
    assert v2.json()["error"] == (
        "parameters.levels: at most 10 levels (FORECAST_MAX_LEVELS), got 300"
    )
    bands = [{"name": f"lower_{level:g}"} for level in distinct_levels(11)]
    by_name = client.post(INFER, json=infer(1, 6, None, outputs=bands))
    assert by_name.status_code == 400
    assert by_name.json()["error"] == "outputs: at most 10 levels (FORECAST_MAX_LEVELS), got 11"
    ten = client.post(INFER, json=infer(1, 6, distinct_levels(10)))
    assert ten.status_code == 200 and len(ten.json()["outputs"]) == 21


def test_v1_and_v2_refuse_levels_by_the_same_setting(settings: Settings) -> None:
    four = distinct_levels(4)
    with TestClient(create_app(settings.model_copy(update={"max_levels": 3}))) as client:
        v1 = client.post("/v1/models/toy/predict", json={"values": SERIES, "levels": four})
        v2 = client.post(INFER, json=infer(1, 1, four))
    assert v1.status_code == 422 and v2.status_code == 400
    assert v1.json()["errors"] == [
        {"field": "levels", "message": "at most 3 levels (FORECAST_MAX_LEVELS), got 4"}
    ]
    assert v2.json()["error"] == "parameters.levels: at most 3 levels (FORECAST_MAX_LEVELS), got 4"


def test_one_series_with_many_levels_is_refused(client: TestClient, settings: Settings) -> None:
    """Finding 2: 1 row, horizon 8, 100,000 levels ran on the event loop for 2.9 s.

    Refused by the levels cap; with the cap lifted, by the work budget, which counts them.
    """
    many = client.post(INFER, json=infer(1, 6, distinct_levels(5_000)))
    assert many.status_code == 400 and "got 5,000" in many.json()["error"]
    lifted = settings.model_copy(update={"max_levels": 100_000})
    with TestClient(create_app(lifted)) as uncapped:
        refused = uncapped.post(INFER, json=infer(1, 6, distinct_levels(100_000)))
    assert refused.status_code == 400
    assert refused.json()["error"].startswith(
        "body: this request is 1,200,646 units of work (40 values + 6 steps x (100 + 1 series x"
        " (1 network + 2 bounds x 100,000 levels))); at most 1,000,000 (FORECAST_MAX_WORK)"
    )


def on_the_loop() -> bool:
    """Whether this runs in the event loop's own thread (a pool thread has no running loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def test_work_is_judged_by_the_same_estimate_levels_included(settings: Settings) -> None:
    """Finding 2: the loop-or-pool choice counted series x horizon (here 6) and ignored the
    levels, so one series with many of them ran on the event loop."""
    with TestClient(create_app(settings.model_copy(update={"max_levels": 100}))) as client:
        plane: DataPlane = client.app.state.plane  # type: ignore[attr-defined]
        small, many = (
            _work(plane, settings, "toy", InferenceRequest.model_validate(infer(1, 6, levels)))
            for levels in ([80], distinct_levels(100))
        )
        assert client.post(INFER, json=infer(1, 6, distinct_levels(100))).status_code == 200
    assert small.units <= INLINE_WORK < many.units
    assert many == plane.forecast_work("toy", 1, len(SERIES), 6, 100)
    assert asyncio.run(run_sized(small, on_the_loop)) is True
    assert asyncio.run(run_sized(many, on_the_loop)) is False


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


def test_a_band_named_with_a_decimal_point_is_answered_under_that_name(
    client: TestClient,
) -> None:
    """Finding 7's last item: `lower_80.0` answered 200 with no outputs at all."""
    asked = [{"name": "lower_80.0"}, {"name": "upper_80"}]
    answer = client.post(INFER, json=infer(1, 3, [80], outputs=asked))
    assert answer.status_code == 200
    outputs = {o["name"]: o["data"] for o in answer.json()["outputs"]}
    assert list(outputs) == ["lower_80.0", "upper_80"]
    v1 = client.post(
        "/v1/models/toy/predict", json={"values": SERIES, "horizon": 3, "levels": [80]}
    )
    band = v1.json()["intervals"][0]
    assert outputs == {"lower_80.0": band["lower"], "upper_80": band["upper"]}


def test_every_band_is_sent_when_no_output_is_named(client: TestClient) -> None:
    """Named by `lower_<level:g>`: a level with more digits than that shows is still sent."""
    answer = client.post(
        INFER, json={**infer(1, 2, None), "parameters": {"levels": "80.123456789"}}
    )
    assert answer.status_code == 200
    assert [o["name"] for o in answer.json()["outputs"]] == [
        "forecast",
        "lower_80.1235",
        "upper_80.1235",
    ]


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["forecast", "forecast"], "'forecast' and 'forecast' name the same output"),
        (["lower_80", "lower_80.0"], "'lower_80' and 'lower_80.0' name the same output"),
    ],
)
def test_an_output_asked_for_twice_is_refused(
    client: TestClient, names: list[str], message: str
) -> None:
    """Each copy was sent again: a short body could ask for one tensor thousands of times."""
    answer = client.post(INFER, json=infer(1, 3, [80], outputs=[{"name": n} for n in names]))
    assert answer.status_code == 400 and message in answer.json()["error"]


def test_the_work_estimate_counts_every_term() -> None:
    work = Work.forecast(series=1_000, values=29_000, horizon=24, members=5, levels=300)
    assert work.units == 29_000 + 24 * (100 + 1_000 * (5 + 600))

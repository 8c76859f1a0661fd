"""`POST /v1/models/{name}/evaluate` in process, against toy model directories: the model's
scores beside the baselines', interval coverage by level and the backtest by step."""

from __future__ import annotations

import pytest
from apikit import SERIES
from fastapi.testclient import TestClient

NO_INTERVALS = "intervals: none, since model 'toy-diff' version 1 has no calibrated intervals"
NO_PIPELINE_ALONE = (
    "pipeline_alone: not computed; the model's differencing pipeline has no forecast without"
    " its network"
)


def test_evaluate_scores_model_and_baselines(client: TestClient) -> None:
    body = client.post("/v1/models/toy-diff/evaluate", json={"values": SERIES}).json()
    assert body["n"] == len(SERIES) - 17 == len(body["predictions"]) == len(body["actuals"])
    assert body["actuals"] == SERIES[17:]
    assert {"rmse", "mae", "mape", "mase"} <= set(body)
    assert set(body["baselines"]["seasonal_naive"]) == {"rmse", "mae", "n"}
    assert body["intervals"] == [] and body["backtest"] == []
    assert body["baselines"]["pipeline_alone"] is None  # a differencing pipeline has none
    assert body["warnings"] == [NO_INTERVALS, NO_PIPELINE_ALONE]  # toy-diff predates intervals


def test_evaluate_scores_the_seasonal_baseline_where_it_exists(client: TestClient) -> None:
    """The whole series: 93 points forecast, 84 of them a season in (the first-hour report)."""
    body = client.post("/v1/models/toy/evaluate", json={"values": SERIES}).json()
    seasonal = body["baselines"]["seasonal_naive"]
    assert body["n"] == 93 and seasonal["n"] == 84 and body["baselines"]["persistence"]["n"] == 93
    assert "seasonal_naive: scored on the last 84 of the 93 points" in body["warnings"][-2]


def test_evaluate_says_when_the_seasonal_baseline_is_unavailable(client: TestClient) -> None:
    body = client.post("/v1/models/toy/evaluate", json={"values": SERIES[:8]}).json()
    assert body["n"] == 5 and body["baselines"]["seasonal_naive"] is None
    assert body["baselines"]["persistence"] is not None
    assert any(w.startswith("seasonal_naive: not computed") for w in body["warnings"])


def test_evaluate_scores_each_level_and_backtests_each_step(client: TestClient) -> None:
    body = client.post(
        "/v1/models/toy/evaluate", json={"values": SERIES, "levels": [80, 95], "horizon": 3}
    ).json()
    scores = {s["level"]: s for s in body["intervals"]}
    assert set(scores) == {80.0, 95.0}
    assert 0 <= scores[80]["coverage"] <= scores[95]["coverage"] <= 1
    assert scores[80]["mean_width"] < scores[95]["mean_width"]
    assert [(s["step"], s["n"]) for s in body["backtest"]] == [
        (1, body["n"]),
        (2, body["n"] - 1),
        (3, body["n"] - 2),
    ]
    assert body["backtest"][0]["rmse"] == pytest.approx(body["rmse"])

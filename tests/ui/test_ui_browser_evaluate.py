"""Evaluating on the page in headless Chromium, offline: the model's scores beside the
baselines', the warnings, the backtest by step and the interval coverage, as the API
answers them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from chromium import CHROMIUM
from liveserver import LiveServer
from pagekit import (
    TOY,
    assert_offline_and_public,
    column,
    read_table,
    ready,
    shoot,
    shown,
    toy_text,
)

pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (Debian's `chromium`)")


def test_evaluate_scores_the_series_beside_the_baselines(visit: Any, server: LiveServer) -> None:
    seen = visit(server)
    page = seen.page
    ready(page, "toy")
    page.fill("#values", toy_text())
    page.fill("#horizon", "3")
    page.fill("#levels", "80, 95")
    page.click("#evaluate-button")
    page.wait_for_selector("#evaluate-result:not([hidden])")
    body = httpx.post(
        f"{server.url}/v1/models/toy/evaluate",
        json={"values": TOY, "horizon": 3, "levels": [80, 95]},
    ).json()
    scores = read_table(page, "#evaluate-scores")
    assert [row[0] for row in scores[1]] == [
        "toy version 1",
        "Persistence (baseline)",
        "Seasonal naive (baseline)",
        "Pipeline alone (the model without its network)",
    ]
    assert body["baselines"]["pipeline_alone"] is None  # the toy's differencing pipeline
    assert scores[1][3][1] == "none: this model's pipeline has no forecast without its network"
    rmse = [row[1] for row in scores[1]]
    assert float(rmse[0]) == shown([body["rmse"]], 4)[0]
    assert float(rmse[1]) == shown([body["baselines"]["persistence"]["rmse"]], 4)[0]
    seasonal = body["baselines"]["seasonal_naive"]  # null: a first point lacks a season back
    if seasonal is None:
        assert rmse[2] == "too little history for this baseline"
    else:
        assert float(rmse[2]) == shown([seasonal["rmse"]], 4)[0]
    assert float(scores[1][0][4]) == shown([body["mase"]], 4)[0]
    assert [w in page.text_content("#evaluate-warnings") for w in body["warnings"]] == [True] * len(
        body["warnings"]
    )
    backtest = read_table(page, "#evaluate-backtest table")
    assert column(backtest, "RMSE") == shown([s["rmse"] for s in body["backtest"]], 4)
    coverage = read_table(page, "#evaluate-intervals table")
    assert [row[0] for row in coverage[1]] == ["80 %", "95 %"]
    assert page.locator("#evaluate-chart canvas").count() == 1
    assert_offline_and_public(seen)
    shoot(page, "evaluate-desktop")

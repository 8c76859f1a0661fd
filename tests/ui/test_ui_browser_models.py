"""The page's models table and model card in headless Chromium, offline: the committed
models listed as the API lists them, with the card's scores, and a version that failed to
load listed with its reason and not selectable."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from chromium import CHROMIUM
from liveserver import LiveServer, live_server
from pagekit import assert_offline_and_public, column, read_table, ready, shown

pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (Debian's `chromium`)")


def test_the_committed_models_are_listed_offline(visit: Any, committed: LiveServer) -> None:
    models = httpx.get(f"{committed.url}/v1/models").json()
    seen = visit(committed)
    page = seen.page
    ready(page, "milk")
    head, rows = read_table(page, "#models-table")
    assert head == ["Model", "Version", "State", "Frequency", "Data"]
    assert [row[0] for row in rows] == [m["name"] for m in models]
    for model, row in zip(models, rows, strict=True):
        card = httpx.get(f"{committed.url}/v1/models/{model['name']}").json()
        assert row[1].startswith(str(model["version"])) and row[2] == model["state"]
        assert row[3] == card["data"]["frequency"]
        assert f"{card['data']['n_points']} points" in row[4]
    card = httpx.get(f"{committed.url}/v1/models/milk").json()
    metrics = read_table(page, "#card-metrics")
    assert [row[0] for row in metrics[1]][:2] == ["Train", "Test"]
    assert column(metrics, "RMSE")[:2] == shown(
        [card["metrics"]["train"]["rmse"], card["metrics"]["test"]["rmse"]], 4
    )
    assert "Persistence (baseline)" in [row[0] for row in metrics[1]]
    page.wait_for_function("() => document.getElementById('report-img').naturalWidth > 0")
    assert_offline_and_public(seen)
    page_bytes = sum(
        r.sizes()["responseBodySize"]
        for r in seen.requests
        if r.url.removeprefix(committed.url) == "/" or "/ui/" in r.url
    )
    assert page_bytes < 300_000, f"the page and its assets weigh {page_bytes} bytes"


def test_a_failed_model_is_listed_with_its_reason(
    visit: Any, toy_models: Path, tmp_path: Path
) -> None:
    models = Path(shutil.copytree(toy_models, tmp_path / "models"))
    with (models / "toy-diff" / "1" / "model.keras").open("ab") as tampered:
        tampered.write(b"not what the manifest hashed")
    env = {"FORECAST_MODEL_DIR": str(models), "FORECAST_DEFAULT_MODEL": "toy"}
    with live_server(env, tmp_path / "uvicorn.log") as running:
        listed = {m["name"]: m for m in httpx.get(f"{running.url}/v1/models").json()}
        assert listed["toy-diff"]["state"] == "failed"
        page = visit(running).page
        ready(page, "toy")
        rows = {row[0]: row for row in read_table(page, "#models-table")[1]}
        assert rows["toy-diff"][2] == f"failed: {listed['toy-diff']['reason']}"
        assert page.locator("button[data-model='toy-diff']").count() == 0, "not selectable"

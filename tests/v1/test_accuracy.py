"""The ledger's loop, end to end: forecasts by id recorded, actuals posted back, live accuracy.

The model is trainkit's tiny catalog; the database is SQLite in a temporary data directory
(as `make serve` runs it) and a real PostgreSQL server. Every number the service reports is
recomputed here by hand from what it served and what was posted.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.contract.calendar import Frequency, following
from app.main import create_app
from app.settings import Settings

pytest.importorskip("keras")  # the catalog model is trained here

IDS = ["small", "large", "late"]
MONTHS = 6
HORIZON = 3


@pytest.fixture
def settings(catalog_models: Path, database: str) -> Settings:
    return Settings(model_dir=catalog_models, default_model="catalog", database_url=database)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def actual(history: list[float], month: int, sid: str) -> float:
    """A made-up outcome: the series' last level, drifting, with a jolt in month 4."""
    jolt = 1.25 if month == 4 and sid == "large" else 1.0
    return history[-1] * (1 + 0.01 * month) * jolt + (month % 3 - 1) * 0.5


def replay(client: TestClient) -> tuple[dict[str, list[dict]], dict[str, dict[str, float]]]:
    """Month by month: forecast every series by id, then post the month's actuals."""
    served: dict[str, list[dict]] = {sid: [] for sid in IDS}
    posted: dict[str, dict[str, float]] = {sid: {} for sid in IDS}
    histories = {
        sid: client.get(f"/v1/models/catalog/series/{sid}").json()["history"] for sid in IDS
    }
    for month in range(MONTHS):
        answer = client.post(
            "/v1/models/catalog/predict/batch", json={"series_ids": IDS, "horizon": HORIZON}
        )
        assert answer.status_code == 200, answer.text
        rows = []
        for i, sid in enumerate(IDS):
            forecast = row_of(answer.json(), i)
            served[sid].append(forecast)
            value = actual(histories[sid], month, sid)
            histories[sid].append(value)
            period = forecast["periods"][0]
            posted[sid][period] = value
            rows.append({"series_id": sid, "period": period, "value": value})
        stored = client.post("/v1/models/catalog/observations", json={"observations": rows})
        assert stored.status_code == 200, stored.text
    return served, posted


def row_of(batch: dict, i: int) -> dict:
    """Row `i` of a batch answer, shaped like a one-series answer."""
    return {
        "values": batch["forecasts"][i],
        "periods": batch["periods"][i],
        "intervals": [
            {"level": b["level"], "lower": b["lower"][i], "upper": b["upper"][i]}
            for b in batch["intervals"]
        ],
    }


def by_hand(served: list[dict], posted: dict[str, float], step: int) -> dict[str, float]:
    """The scores of one series' step-`step` forecasts whose actual arrived, computed here."""
    errors, inside, winkler = [], {80: [], 95: []}, {80: [], 95: []}
    for forecast in served:
        period = forecast["periods"][step - 1]
        if period not in posted:
            continue
        y, point = posted[period], forecast["values"][step - 1]
        errors.append(y - point)
        for band in forecast["intervals"]:
            level = round(band["level"])
            lo, hi = band["lower"][step - 1], band["upper"][step - 1]
            inside[level].append(lo <= y <= hi)
            alpha = 1 - level / 100
            winkler[level].append(hi - lo + 2 / alpha * (max(lo - y, 0) + max(y - hi, 0)))
    e = np.array(errors)
    return {
        "n": len(e),
        "rmse": math.sqrt(np.mean(e**2)),
        "mae": np.mean(np.abs(e)),
        **{f"coverage{lv}": np.mean(inside[lv]) for lv in (80, 95)},
        **{f"winkler{lv}": np.mean(winkler[lv]) for lv in (80, 95)},
    }


def test_replayed_months_score_exactly_what_was_served(
    client: TestClient, settings: Settings
) -> None:
    served, posted = replay(client)
    for sid in IDS:
        answer = client.get("/v1/models/catalog/accuracy", params={"series_id": sid})
        assert answer.status_code == 200, answer.text
        (version,) = answer.json()["versions"]
        assert version["version"] == 1 and version["served"]
        assert [s["step"] for s in version["steps"]] == [1, 2, 3]
        for step in version["steps"]:
            expected = by_hand(served[sid], posted[sid], step["step"])
            assert step["recorded"] == MONTHS
            assert step["n"] == expected["n"] == MONTHS - step["step"] + 1
            assert step["rmse"] == pytest.approx(expected["rmse"], rel=1e-9, abs=1e-6)
            assert step["mae"] == pytest.approx(expected["mae"], rel=1e-9, abs=1e-6)
            for level in ("80", "95"):
                assert step["coverage"][level] == pytest.approx(expected[f"coverage{level}"])
                assert step["winkler"][level] == pytest.approx(
                    expected[f"winkler{level}"], rel=1e-9
                )
        training = version["training"]
        series = client.get(f"/v1/models/catalog/series/{sid}").json()["test"]
        assert training["rmse"] == series["rmse"] and training["mase"] == series["mase"]
    whole = client.get("/v1/models/catalog/accuracy").json()
    # The jolt is far outside any band the model served: listed among the anomalies.
    jolted = [a for a in whole["anomalies"]["listed"] if a["series_id"] == "large"]
    assert any(a["step"] == 1 and a["actual"] > a["upper"] for a in jolted)
    assert whole["anomalies"]["total"] == len(whole["anomalies"]["listed"])
    for anomaly in whole["anomalies"]["listed"]:
        assert not anomaly["lower"] <= anomaly["actual"] <= anomaly["upper"]
    # Pooled over series, step 1 is every series' scored forecasts together.
    first = whole["versions"][0]["steps"][0]
    assert first["n"] == len(IDS) * MONTHS
    squared = [
        (posted[sid][f["periods"][0]] - f["values"][0]) ** 2 for sid in IDS for f in served[sid]
    ]
    assert first["rmse"] == pytest.approx(math.sqrt(np.mean(squared)), rel=1e-9)
    # A restart reads the same ledger and answers the same.
    with TestClient(create_app(settings)) as restarted:
        assert restarted.get("/v1/models/catalog/accuracy").json() == whole
    metrics = client.get("/metrics").text
    assert 'forecast_live_scored{model="catalog",version="1"} 18.0' in metrics


def test_a_forecast_by_id_starts_from_the_actuals_posted_since(
    client: TestClient, catalog_models: Path
) -> None:
    """Equal to posting them as values after the stored history, with the ledger off."""
    detail = client.get("/v1/models/catalog/series/small").json()
    periods = following(detail["last_period"], Frequency.MONTHLY, 3)
    values = [detail["history"][-1] * (1 + k / 50) for k in range(1, 4)]
    rows = [
        {"series_id": "small", "period": p, "value": v}
        for p, v in zip(periods, values, strict=True)
    ]
    # Posted out of order and split in two: the stored history still moves on in order.
    assert client.post(
        "/v1/models/catalog/observations", json={"observations": rows[1:]}
    ).is_success
    gap = client.post("/v1/models/catalog/predict", json={"series_id": "small"}).json()
    assert gap["periods"] == [periods[0]]  # a gap: nothing past it is used yet
    assert client.post(
        "/v1/models/catalog/observations", json={"observations": rows[:1]}
    ).is_success
    moved = client.post("/v1/models/catalog/predict", json={"series_id": "small", "horizon": 2})
    off = Settings(model_dir=catalog_models, default_model="catalog", ledger=False)
    with TestClient(create_app(off)) as plain:
        posted = plain.post(
            "/v1/models/catalog/predict",
            json={"series_id": "small", "values": values, "horizon": 2},
        )
    assert moved.json()["periods"] == following(periods[-1], Frequency.MONTHLY, 2)
    after = client.get("/v1/models/catalog/series/small").json()
    assert after["posted"] == 3 and after["history"][-3:] == values
    assert after["periods"][-3:] == periods and after["next_period"] == moved.json()["periods"][0]
    assert after["history"][:-3] == detail["history"] and detail["posted"] == 0
    assert moved.json()["forecast"] == posted.json()["forecast"]
    assert moved.json()["intervals"] == posted.json()["intervals"]


def test_accuracy_refuses_what_it_cannot_answer(client: TestClient) -> None:
    unknown = client.get("/v1/models/catalog/accuracy", params={"series_id": "smal"})
    assert unknown.status_code == 404 and "'small'" in unknown.json()["error"]
    bad = client.get("/v1/models/catalog/accuracy", params={"since": "2019-13"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "since"
    assert client.get("/v1/models/nope/accuracy").status_code == 404
    empty = client.get("/v1/models/catalog/accuracy", params={"since": "2999-01"}).json()
    assert empty["versions"] == [] and empty["anomalies"] == {"total": 0, "listed": []}


def test_a_read_expands_a_bounded_share_and_says_what_it_did_not_count(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.ledger import store

    monkeypatch.setattr(store, "EXPAND_BATCH", 1)  # one answer per batch: a read takes one
    for _ in range(3):
        body = {"series_id": "small", "horizon": 2}
        assert client.post("/v1/models/catalog/predict", json=body).is_success
    first = client.get("/v1/models/catalog/accuracy").json()
    assert first["pending"] == 4 and first["versions"][0]["steps"][0]["recorded"] == 1
    second = client.get("/v1/models/catalog/accuracy").json()
    assert second["pending"] == 2 and second["versions"][0]["steps"][0]["recorded"] == 2

"""Forecasts by series id, with their periods, and the series a model knows (`/series`).

The model is a tiny global network trained once per session on trainkit's catalog (four
monthly series through 2007-12, one ending 2007-06), so every answer here is checked
against the version's own table and the forecaster's direct computation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.contract.pipeline import one_step_histories
from app.contract.scoring import rmse
from app.forecaster import load_forecaster
from app.main import create_app
from app.settings import Settings

pytest.importorskip("keras")  # the catalog model is trained here


@pytest.fixture(scope="module")
def client(catalog_models: Path) -> Iterator[TestClient]:
    settings = Settings(model_dir=catalog_models, default_model="catalog")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_a_series_by_id_is_forecast_from_its_stored_history_with_periods(
    client: TestClient, catalog_models: Path
) -> None:
    answer = client.post("/v1/models/catalog/predict", json={"series_id": "large", "horizon": 3})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["series_id"] == "large" and body["periods"] == ["2008-01", "2008-02", "2008-03"]
    forecaster = load_forecaster(catalog_models / "catalog" / "1")
    table = forecaster.series
    assert table is not None
    row = table.rows(["large"])
    expected = forecaster.forecast(table.histories[row], 3, row)[0]
    np.testing.assert_allclose(body["forecast"], expected, rtol=1e-12)
    assert [band["level"] for band in body["intervals"]] == [80.0, 95.0]


def test_values_posted_with_an_id_continue_its_history(client: TestClient) -> None:
    by_id = client.post("/v1/models/catalog/predict", json={"series_id": "early-end"}).json()
    assert by_id["periods"] == ["2007-07"]
    more = {"series_id": "early-end", "values": [by_id["forecast"][0]], "start": "2007-07"}
    answer = client.post("/v1/models/catalog/predict", json=more | {"horizon": 2})
    assert answer.status_code == 200, answer.text
    assert answer.json()["periods"] == ["2007-08", "2007-09"]


def test_a_start_that_disagrees_with_the_stored_calendar_is_422_saying_so(
    client: TestClient,
) -> None:
    body = {"series_id": "small", "values": [100.0], "start": "2007-06"}
    answer = client.post("/v1/models/catalog/predict", json=body)
    assert answer.status_code == 422
    error = answer.json()
    assert error["errors"][0]["field"] == "start"
    assert "stored through 2007-12, so values posted for it start at 2008-01" in error["error"]


def test_an_unknown_id_is_404_naming_it_and_the_nearest_ids(client: TestClient) -> None:
    answer = client.post("/v1/models/catalog/predict", json={"series_id": "larg"})
    assert answer.status_code == 404
    error = answer.json()
    assert error["type"] == "series_not_found"
    assert "knows no series 'larg'; nearest: 'large'" in error["error"]
    batch = client.post("/v1/models/catalog/predict/batch", json={"series_ids": ["small", "nope"]})
    assert batch.status_code == 404 and batch.json()["errors"][0]["field"] == "series_ids[1]"


def test_posted_values_with_a_start_are_dated(client: TestClient) -> None:
    history = client.get("/v1/models/catalog/series/late").json()["history"]
    answer = client.post(
        "/v1/models/catalog/predict",
        json={"values": history, "start": "2001-03", "horizon": 2},
    )
    assert answer.status_code == 200, answer.text
    end = 2001 * 12 + 2 + len(history) - 1  # the month of the last posted value
    assert answer.json()["periods"][0] == f"{(end + 1) // 12}-{(end + 1) % 12 + 1:02d}"
    assert answer.json()["series_id"] is None


def test_a_batch_by_ids_answers_each_with_its_periods(client: TestClient) -> None:
    ids = ["small", "early-end", "large"]
    answer = client.post("/v1/models/catalog/predict/batch", json={"series_ids": ids})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["series_ids"] == ids
    assert body["periods"] == [["2008-01"], ["2007-07"], ["2008-01"]]
    one = client.post("/v1/models/catalog/predict", json={"series_id": "large"}).json()
    # Equal to rounding: rows of other lengths beside it take the seasonal map's general
    # path, a row alone its fold (`SeasonalMap.apply`), and the float32 network may round
    # the two apart.
    assert body["forecasts"][2] == pytest.approx(one["forecast"], rel=1e-9)


def test_a_batch_takes_series_or_series_ids_not_both(client: TestClient) -> None:
    both = {"series": [[1.0] * 40], "series_ids": ["small"]}
    answer = client.post("/v1/models/catalog/predict/batch", json=both)
    assert answer.status_code == 422 and "either series" in answer.text
    neither = client.post("/v1/models/catalog/predict", json={"horizon": 2})
    assert neither.status_code == 422 and "give values, a series_id, or both" in neither.text


def test_the_series_list_is_paged_searchable_and_carries_test_accuracy(
    client: TestClient,
) -> None:
    page = client.get("/v1/models/catalog/series", params={"limit": 2}).json()
    assert page["total"] == 4 and [s["series_id"] for s in page["series"]] == ["small", "large"]
    assert page["series"][0]["test"]["points"] == 18
    assert page["series"][0]["test"]["rmse"] > 0
    found = client.get("/v1/models/catalog/series", params={"search": "END"}).json()
    assert [s["series_id"] for s in found["series"]] == ["early-end"] and found["total"] == 1
    later = client.get("/v1/models/catalog/series", params={"offset": 3}).json()
    assert [s["series_id"] for s in later["series"]] == ["early-end"]


def test_one_series_has_its_history_with_periods(client: TestClient) -> None:
    detail = client.get("/v1/models/catalog/series/early-end").json()
    assert detail["last_period"] == "2007-06" and detail["next_period"] == "2007-07"
    assert detail["periods"][-1] == "2007-06" and len(detail["periods"]) == len(detail["history"])
    missing = client.get("/v1/models/catalog/series/earlyend")
    assert missing.status_code == 404 and "nearest: 'early-end'" in missing.json()["error"]


def test_toy_models_without_series_refuse_ids_but_forecast_values(toy_models: Path) -> None:
    with TestClient(create_app(Settings(model_dir=toy_models, default_model="toy"))) as c:
        answer = c.post("/v1/models/toy/predict", json={"series_id": "x"})
        assert answer.status_code == 422 and "knows no series by id" in answer.json()["error"]
        listing = c.get("/v1/models/toy/series")
        assert listing.status_code == 422 and "retrain it" in listing.json()["error"]


def test_an_id_with_a_slash_is_described_too(client: TestClient) -> None:
    """Ids are the file's (a BLS code, a `region/store` key): a path segment may hold a slash."""
    answer = client.get("/v1/models/catalog/series/small%2Fnot-there")
    assert answer.status_code == 404 and answer.json()["type"] == "series_not_found"
    assert "'small/not-there'" in answer.json()["error"]


def test_evaluate_scores_the_versions_pipeline_alone_on_the_same_points(
    client: TestClient, catalog_models: Path
) -> None:
    """The third baseline: this version's own pipeline with its network left out."""
    values = np.array(client.get("/v1/models/catalog/series/large").json()["history"])
    body = client.post("/v1/models/catalog/evaluate", json={"values": values.tolist()}).json()
    forecaster = load_forecaster(catalog_models / "catalog" / "1")
    histories, targets = one_step_histories(values, forecaster.pipeline)
    expected = forecaster.forecast_without_network(histories, 1)
    assert expected is not None
    alone = body["baselines"]["pipeline_alone"]
    assert alone["n"] == body["n"] == len(targets)
    assert alone["rmse"] == pytest.approx(rmse(values[targets], expected[:, 0]), rel=1e-12)
    assert not any(w.startswith("pipeline_alone") for w in body["warnings"])
    listed = client.get("/v1/models/catalog/series", params={"limit": 1}).json()["series"][0]
    assert listed["test"]["pipeline_alone_rmse"] > 0

"""The time-series routes in process, over a stand-in for the many-series data plane (tskit):
answers KServe's `ForecastResponse` accepts, equal to v1's forecasts of the same values, known
series by name, and every refusal KServe's `ErrorResponse`, with the field at fault."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from apikit import SERIES, NotReadyRegistry
from fastapi.testclient import TestClient
from tskit import (
    FORECAST,
    MODELS,
    StandInPlane,
    body,
    content,
    kserve_error,
    kserve_response,
    series_input,
)

from app.http.deps import get_dataplane
from app.timeseries.plane import SeriesQuery

STORED = {"store-7": SERIES[:40]}


@pytest.fixture
def plane(client: TestClient) -> Iterator[StandInPlane]:
    """Every route answers from the stand-in, which knows series `store-7` of model `toy`."""
    state = client.app.state  # type: ignore[attr-defined]
    stand_in = StandInPlane(state.registry, state.settings, STORED)
    client.app.dependency_overrides[get_dataplane] = lambda: stand_in  # type: ignore[attr-defined]
    yield stand_in
    client.app.dependency_overrides.clear()  # type: ignore[attr-defined]


@pytest.fixture
def knows_store_7(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The served `toy` knows one series by id, as a version with a series table does."""
    forecaster = client.app.state.registry.served("toy").forecaster  # type: ignore[attr-defined]
    monkeypatch.setattr(forecaster, "series", SimpleNamespace(index={"store-7": 0}), raising=False)


def v1_forecast(client: TestClient, values: list[float], horizon: int, levels: list[float]) -> Any:
    answer = {"values": values, "horizon": horizon, "levels": levels}
    return client.post("/v1/models/toy/predict", json=answer).json()


# --- answers ------------------------------------------------------------------------------------


def test_an_answer_is_kserves_and_equals_the_v1_forecast(
    client: TestClient, plane: StandInPlane
) -> None:
    response = client.post(FORECAST, json=body(horizon=4, quantiles=[0.1, 0.5, 0.9]))
    assert response.status_code == 200, response.text
    theirs = kserve_response(response.json())
    assert theirs.model == "toy" and theirs.model_version == "1" and theirs.status == "completed"
    forecast = content(response)
    assert forecast["name"] == "posted" and forecast["frequency"] == "month"
    assert forecast["start_timestamp"] == "2003-05-01T00:00:00Z"  # 2000-01 + 40 months
    v1 = v1_forecast(client, SERIES[:40], 4, [80.0])
    np.testing.assert_allclose(forecast["mean_forecast"], v1["forecast"], rtol=1e-12)
    assert forecast["quantiles"]["0.5"] == forecast["mean_forecast"]
    np.testing.assert_allclose(forecast["quantiles"]["0.1"], v1["intervals"][0]["lower"])
    np.testing.assert_allclose(forecast["quantiles"]["0.9"], v1["intervals"][0]["upper"])
    assert plane.queries == [SeriesQuery(values=SERIES[:40], start="2000-01")]


def test_quantiles_rise_with_q_at_every_step(client: TestClient, plane: StandInPlane) -> None:
    quantiles = [0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975]
    forecast = content(client.post(FORECAST, json=body(horizon=6, quantiles=quantiles)))
    rows = np.array([forecast["quantiles"][str(q)] for q in quantiles])
    assert (np.diff(rows, axis=0) >= 0).all()


def test_one_output_per_input_in_input_order(client: TestClient, plane: StandInPlane) -> None:
    inputs = [series_input("a"), series_input("b", SERIES[5:50], "M", "2000-06-15")]
    response = client.post(FORECAST, json=body(*inputs), headers={"x-request-id": "req-9"})
    kserve_response(response.json())
    assert response.json()["id"] == "req-9"
    assert [o["id"] for o in response.json()["outputs"]] == ["req-9-0", "req-9-1"]
    assert [content(response, i)["name"] for i in (0, 1)] == ["a", "b"]
    assert content(response, 1)["frequency"] == "M"
    assert content(response, 1)["start_timestamp"] == "2004-03-01T00:00:00Z"  # 2000-06 + 45
    assert "quantiles" not in content(response, 0)


def test_a_known_name_forecasts_the_stored_history(
    client: TestClient, plane: StandInPlane, knows_store_7: None
) -> None:
    stored = client.post(FORECAST, json=body(series_input("store-7", [], start=None)))
    posted = client.post(FORECAST, json=body(series_input("posted", SERIES[:40])))
    kserve_response(stored.json())
    assert content(stored)["mean_forecast"] == content(posted)["mean_forecast"]
    assert content(stored)["start_timestamp"] == "2008-01-01T00:00:00Z"
    assert plane.queries[0] == SeriesQuery(series_id="store-7")


def test_values_posted_with_a_known_name_are_appended(
    client: TestClient, plane: StandInPlane, knows_store_7: None
) -> None:
    appended = client.post(FORECAST, json=body(series_input("store-7", SERIES[40:44])))
    whole = client.post(FORECAST, json=body(series_input("whole", SERIES[:44])))
    assert content(appended)["mean_forecast"] == content(whole)["mean_forecast"]
    assert plane.queries[0] == SeriesQuery("store-7", SERIES[40:44], "2000-01")


def test_the_models_list_names_the_served_models(client: TestClient, plane: StandInPlane) -> None:
    listed = client.get(MODELS)
    assert listed.status_code == 200
    served = [m["name"] for m in client.get("/v1/models").json() if m["state"] == "ready"]
    assert listed.json() == served and "toy" in served


# --- refusals -----------------------------------------------------------------------------------


def refused(response: Any, status: int, kind: str, param: str | None = None) -> str:
    """KServe's ErrorResponse, its code the status; returns the message."""
    assert response.status_code == status, response.text
    error = kserve_error(response.json()).error
    assert error.code == str(status) and error.type == kind and error.param == param, error
    assert error.message
    message: str = error.message
    return message


def test_an_unknown_model_is_404(client: TestClient, plane: StandInPlane) -> None:
    message = refused(client.post(FORECAST, json=body(model="nope")), 404, "model_not_found")
    assert "'toy'" in message  # the models there are


def test_a_model_with_no_verified_version_is_503(client: TestClient) -> None:
    stand_in = StandInPlane(NotReadyRegistry(), client.app.state.settings)  # type: ignore[attr-defined]
    client.app.dependency_overrides[get_dataplane] = lambda: stand_in  # type: ignore[attr-defined]
    refused(client.post(FORECAST, json=body()), 503, "model_not_ready")
    assert client.get(MODELS).json() == []


@pytest.mark.parametrize(
    ("request_body", "param"),
    [
        (body(horizon=0), "options.horizon"),
        (body(quantiles=[0.5, 1.0]), "options.quantiles[1]"),
        (body(series_input(frequency="fortnight")), "inputs[0].frequency"),
        (body(series_input(type="multivariate_time_series")), "inputs[0].type"),
        ({"model": "toy", "inputs": [], "options": {"horizon": 1}}, "inputs"),
        ({"inputs": [series_input()], "options": {"horizon": 1}}, "model"),
    ],
)
def test_an_invalid_body_is_400_naming_the_field(
    client: TestClient, plane: StandInPlane, request_body: dict[str, Any], param: str
) -> None:
    refused(client.post(FORECAST, json=request_body), 400, "invalid_input", param)


def test_malformed_json_is_400(client: TestClient, plane: StandInPlane) -> None:
    bad = client.post(FORECAST, content=b'{"model": ', headers={"content-type": "application/json"})
    refused(bad, 400, "invalid_input", "body")


def test_another_calendar_is_400_naming_the_one_to_send(
    client: TestClient, plane: StandInPlane
) -> None:
    message = refused(
        client.post(FORECAST, json=body(series_input(frequency="D"))),
        400,
        "invalid_input",
        "inputs[0].frequency",
    )
    assert "send 'month' (or 'M')" in message


def test_an_unknown_series_needs_its_start(client: TestClient, plane: StandInPlane) -> None:
    response = client.post(FORECAST, json=body(series_input(start=None)))
    assert "knows no series 'posted'" in refused(
        response, 400, "invalid_input", "inputs[0].start_timestamp"
    )
    assert plane.queries == []  # refused before forecasting


def test_more_intervals_than_the_limit_are_400(client: TestClient, plane: StandInPlane) -> None:
    quantiles = [round(0.01 * k, 2) for k in range(1, 40)]  # 39 levels
    refused(
        client.post(FORECAST, json=body(quantiles=quantiles)),
        400,
        "invalid_input",
        "options.quantiles",
    )


def test_the_data_planes_refusals_name_this_protocols_fields(
    client: TestClient, plane: StandInPlane
) -> None:
    beyond = body(horizon=7, quantiles=[0.1, 0.9])  # toy's intervals are calibrated to 6 steps
    refused(client.post(FORECAST, json=beyond), 400, "invalid_input", "options.horizon")
    uncalibrated = body(quantiles=[0.1, 0.9], model="toy-diff")
    refused(client.post(FORECAST, json=uncalibrated), 400, "invalid_input", "options.quantiles")


def test_openapi_documents_both_routes_and_the_error_shape(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    post = spec["paths"][FORECAST]["post"]
    assert set(post["responses"]) >= {"200", "400", "401", "404", "503"}
    assert post["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TimeSeriesError"
    }
    assert "get" in spec["paths"][MODELS]


def test_the_documented_example_is_answered(client: TestClient, plane: StandInPlane) -> None:
    example = client.get("/openapi.json").json()["components"]["schemas"]["ForecastRequest"]
    request = example["examples"][0] | {"model": "toy"}  # the example names the milk model
    response = client.post(FORECAST, json=request)
    assert response.status_code == 200, response.text
    assert content(response)["start_timestamp"] == "1976-01-01T00:00:00Z"  # after 1973-01 + 36
    assert set(content(response)["quantiles"]) == {"0.1", "0.5", "0.9"}

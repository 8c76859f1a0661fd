"""The time-series routes over a model with a series table: the session's `catalog` (four
monthly series through 2007-12, "early-end" through 2007-06), over the real data plane.
A known name is forecast from its stored history (plus any values posted after it), equal
to v1's forecast by id; an unknown name without values is a 404 naming the nearest ids;
an unknown name with values is a new series, forecast from them alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from tskit import FORECAST, MODELS, body, content, kserve_response, refused, series_input

from app.main import create_app
from app.settings import Settings

pytest.importorskip("keras")  # the catalog model is trained here

MODEL = "catalog"


@pytest.fixture(scope="module")
def client(catalog_models: Path) -> Iterator[TestClient]:
    settings = Settings(model_dir=catalog_models, default_model=MODEL)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def stored(name: str, series: list[float] | None = None, **fields: Any) -> dict[str, Any]:
    """An input naming a series, with no start: a known series' calendar is the model's."""
    return series_input(name, series or [], start=None, **fields)


def ask(client: TestClient, *inputs: dict[str, Any], **options: Any) -> Any:
    response = client.post(FORECAST, json=body(*inputs, model=MODEL, **options))
    assert response.status_code == 200, response.text
    kserve_response(response.json())
    return response


def v1(client: TestClient, **request: Any) -> dict[str, Any]:
    answer = client.post(f"/v1/models/{MODEL}/predict", json=request)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


# --- answers ------------------------------------------------------------------------------------


def test_a_known_name_is_forecast_as_v1_forecasts_it_by_id(client: TestClient) -> None:
    forecast = content(ask(client, stored("large"), horizon=3, quantiles=[0.1, 0.5, 0.9]))
    by_id = v1(client, series_id="large", horizon=3, levels=[80])
    assert by_id["periods"] == ["2008-01", "2008-02", "2008-03"]
    assert forecast["start_timestamp"] == "2008-01-01T00:00:00Z" and forecast["name"] == "large"
    np.testing.assert_allclose(forecast["mean_forecast"], by_id["forecast"], rtol=1e-12)
    np.testing.assert_allclose(forecast["quantiles"]["0.1"], by_id["intervals"][0]["lower"])
    np.testing.assert_allclose(forecast["quantiles"]["0.9"], by_id["intervals"][0]["upper"])
    assert forecast["quantiles"]["0.5"] == forecast["mean_forecast"]


def test_each_known_series_starts_after_its_own_history(client: TestClient) -> None:
    response = ask(client, stored("small"), stored("early-end", frequency="M"), horizon=2)
    assert content(response, 0)["start_timestamp"] == "2008-01-01T00:00:00Z"
    assert content(response, 1)["start_timestamp"] == "2007-07-01T00:00:00Z"  # ends 2007-06
    for i, name in enumerate(["small", "early-end"]):
        alone = v1(client, series_id=name, horizon=2, levels=[])
        # Equal within float32 rounding: the engine's BLAS may sum a batch in another order.
        np.testing.assert_allclose(content(response, i)["mean_forecast"], alone["forecast"], 1e-6)


def test_values_posted_with_a_known_name_continue_its_history(client: TestClient) -> None:
    more = v1(client, series_id="early-end", horizon=3)["forecast"]
    forecast = content(ask(client, stored("early-end", more), horizon=2, quantiles=[0.25]))
    assert forecast["start_timestamp"] == "2007-10-01T00:00:00Z"  # 2007-07 + 3 values
    appended = v1(client, series_id="early-end", values=more, horizon=2, levels=[50])
    np.testing.assert_allclose(forecast["mean_forecast"], appended["forecast"], rtol=1e-12)
    np.testing.assert_allclose(forecast["quantiles"]["0.25"], appended["intervals"][0]["lower"])
    dated = stored("early-end", more, start_timestamp="2007-07-01T00:00:00Z")
    assert content(ask(client, dated, horizon=2))["mean_forecast"] == forecast["mean_forecast"]


def test_an_unknown_name_with_values_is_a_new_series_forecast_from_them(
    client: TestClient,
) -> None:
    """Known or not is decided by name: a typo with values is forecast as a new series."""
    history = client.get(f"/v1/models/{MODEL}/series/small").json()["history"]
    forecast = content(ask(client, series_input("lat", history, start="2001-03"), horizon=2))
    posted = v1(client, values=history, start="2001-03", horizon=2)
    np.testing.assert_allclose(forecast["mean_forecast"], posted["forecast"], rtol=1e-12)
    assert forecast["start_timestamp"] == f"{posted['periods'][0]}-01T00:00:00Z"
    late = v1(client, series_id="late", horizon=2)  # the nearest id, not asked for
    assert not np.allclose(forecast["mean_forecast"], late["forecast"])


def test_the_models_list_names_the_catalog(client: TestClient) -> None:
    assert client.get(MODELS).json() == [MODEL]


# --- refusals -----------------------------------------------------------------------------------


def test_an_unknown_name_without_values_is_404_naming_the_nearest_ids(client: TestClient) -> None:
    response = client.post(FORECAST, json=body(stored("larg"), model=MODEL))
    message = refused(response, 404, "series_not_found", "inputs[0].name")
    assert message.startswith("inputs[0].name: model 'catalog' knows no series 'larg'; nearest:")
    assert "'large'" in message
    two = client.post(FORECAST, json=body(stored("small"), stored("erly-end"), model=MODEL))
    assert "nearest: 'early-end'" in refused(two, 404, "series_not_found", "inputs[1].name")


def test_a_start_that_disagrees_with_the_stored_calendar_is_400(client: TestClient) -> None:
    early = stored("small", [100.0], start_timestamp="2007-06-01T00:00:00Z")
    response = client.post(FORECAST, json=body(early, model=MODEL))
    message = refused(response, 400, "invalid_input", "inputs[0].start_timestamp")
    assert "stored through 2007-12, so values posted for it start at 2008-01" in message


def test_another_calendar_is_400_naming_the_models(client: TestClient) -> None:
    response = client.post(FORECAST, json=body(stored("small", frequency="quarter"), model=MODEL))
    message = refused(response, 400, "invalid_input", "inputs[0].frequency")
    assert "model 'catalog' forecasts a monthly series: send 'month' (or 'M')" in message

"""The time-series routes over the real data plane's `forecast_series`, not the stand-in.

Until the many-series data plane lands in `app/dataplane.py`, these are expected to fail
(strict: the day it lands, they run as ordinary tests and must pass). They pin what the
routes rely on: a posted series is forecast as v1 forecasts it, its bands are v1's
intervals, and the forecast periods follow the posted start on the model's calendar.
"""

from __future__ import annotations

import numpy as np
import pytest
from apikit import SERIES
from fastapi.testclient import TestClient
from tskit import FORECAST, body, content, kserve_response, series_input

from app.dataplane import DataPlane

pytestmark = pytest.mark.xfail(
    not hasattr(DataPlane, "forecast_series"),
    reason="DataPlane.forecast_series (the many-series data plane) has not landed yet",
    raises=AttributeError,
    strict=True,
)


def test_a_posted_series_is_forecast_as_v1_forecasts_it(client: TestClient) -> None:
    response = client.post(FORECAST, json=body(horizon=4, quantiles=[0.1, 0.5, 0.9]))
    assert response.status_code == 200, response.text
    kserve_response(response.json())
    forecast = content(response)
    v1 = client.post(
        "/v1/models/toy/predict", json={"values": SERIES[:40], "horizon": 4, "levels": [80]}
    ).json()
    np.testing.assert_allclose(forecast["mean_forecast"], v1["forecast"], rtol=1e-9)
    np.testing.assert_allclose(forecast["quantiles"]["0.1"], v1["intervals"][0]["lower"])
    np.testing.assert_allclose(forecast["quantiles"]["0.9"], v1["intervals"][0]["upper"])
    assert forecast["quantiles"]["0.5"] == forecast["mean_forecast"]


def test_the_forecast_starts_after_the_posted_values(client: TestClient) -> None:
    inputs = [series_input("a"), series_input("b", SERIES[:45], "M", "2000-06-15T08:00:00Z")]
    response = client.post(FORECAST, json=body(*inputs, horizon=2))
    assert response.status_code == 200, response.text
    assert content(response, 0)["start_timestamp"] == "2003-05-01T00:00:00Z"  # 2000-01 + 40
    assert content(response, 1)["start_timestamp"] == "2004-03-01T00:00:00Z"  # 2000-06 + 45


def test_several_series_answer_in_one_call(client: TestClient) -> None:
    inputs = [series_input(str(i), SERIES[i : i + 40]) for i in range(5)]
    response = client.post(FORECAST, json=body(*inputs, horizon=3, quantiles=[0.05, 0.95]))
    assert response.status_code == 200, response.text
    answer = kserve_response(response.json())
    assert [o.content[0].name for o in answer.outputs] == [str(i) for i in range(5)]
    for output in answer.outputs:
        low, high = output.content[0].quantiles["0.05"], output.content[0].quantiles["0.95"]
        assert (np.array(low) <= np.array(output.content[0].mean_forecast)).all()
        assert (np.array(output.content[0].mean_forecast) <= np.array(high)).all()

"""The v1 forecasts (`/v1/predict`, `/v1/models/{name}/predict`, `.../predict/batch`,
`.../evaluate`) in process, against toy model directories: answers, intervals, and every
refusal of a bad body."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from apikit import SERIES, assert_error, never_called, post_raw, serve_registry
from fastapi.testclient import TestClient

from app.main import create_app
from app.registry import Registry
from app.settings import Settings

NO_INTERVALS = "intervals: none, since model 'toy-diff' version 1 has no calibrated intervals"


# --- forecasts --------------------------------------------------------------------------


def test_predict_returns_horizon_values(client: TestClient) -> None:
    body = client.post("/v1/models/toy/predict", json={"values": SERIES, "horizon": 3}).json()
    assert body["model"] == "toy" and body["version"] == 1 and body["horizon"] == 3
    assert len(body["forecast"]) == 3 and body["warnings"] == []


def test_default_model_answers_v1_predict(client: TestClient) -> None:
    named = client.post("/v1/models/toy/predict", json={"values": SERIES}).json()
    assert client.post("/v1/predict", json={"values": SERIES}).json() == named


def test_integers_are_numbers(client: TestClient) -> None:
    body = client.post("/v1/predict", json={"values": [600, 610, 620]}).json()
    assert len(body["forecast"]) == 1


def test_batch_equals_single_calls(client: TestClient) -> None:
    series = [SERIES[:40], SERIES[:60], SERIES]
    batch = client.post(
        "/v1/models/toy-diff/predict/batch", json={"series": series, "horizon": 4}
    ).json()
    for values, forecast in zip(series, batch["forecasts"], strict=True):
        one = client.post("/v1/models/toy-diff/predict", json={"values": values, "horizon": 4})
        # Equal within float32 rounding: the engine's BLAS may sum a batch in another order.
        assert one.json()["forecast"] == pytest.approx(forecast, rel=1e-6)


def test_far_out_of_range_inputs_are_forecast_with_a_warning(client: TestClient) -> None:
    body = client.post("/v1/predict", json={"values": [600.0, 5000.0, 610.0]}).json()
    assert len(body["forecast"]) == 1
    assert body["warnings"] and body["warnings"][0].startswith("values: 1 of the 3 values")


def test_batch_warnings_name_the_series(client: TestClient) -> None:
    series = [SERIES[-3:], [-900.0, -950.0, -990.0]]
    body = client.post("/v1/models/toy/predict/batch", json={"series": series}).json()
    assert [w.split(":")[0] for w in body["warnings"]] == ["series[1]"]


def test_evaluate_scores_model_and_baselines(client: TestClient) -> None:
    body = client.post("/v1/models/toy-diff/evaluate", json={"values": SERIES}).json()
    assert body["n"] == len(SERIES) - 17 == len(body["predictions"]) == len(body["actuals"])
    assert body["actuals"] == SERIES[17:]
    assert {"rmse", "mae", "mape", "mase"} <= set(body)
    assert set(body["baselines"]["seasonal_naive"]) == {"rmse", "mae", "n"}
    assert body["intervals"] == [] and body["backtest"] == []
    assert body["warnings"] == [NO_INTERVALS]  # toy-diff predates intervals; the default asks


def test_evaluate_scores_the_seasonal_baseline_where_it_exists(client: TestClient) -> None:
    """The whole series: 93 points forecast, 84 of them a season in (the first-hour report)."""
    body = client.post("/v1/models/toy/evaluate", json={"values": SERIES}).json()
    seasonal = body["baselines"]["seasonal_naive"]
    assert body["n"] == 93 and seasonal["n"] == 84 and body["baselines"]["persistence"]["n"] == 93
    assert "seasonal_naive: scored on the last 84 of the 93 points" in body["warnings"][-1]


def test_evaluate_says_when_the_seasonal_baseline_is_unavailable(client: TestClient) -> None:
    body = client.post("/v1/models/toy/evaluate", json={"values": SERIES[:8]}).json()
    assert body["n"] == 5 and body["baselines"]["seasonal_naive"] is None
    assert body["baselines"]["persistence"] is not None
    assert any(w.startswith("seasonal_naive: not computed") for w in body["warnings"])


# --- refused input ----------------------------------------------------------------------

REFUSED = {
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "overflowing number": "1e999",
    "string": '"612.5"',
    "null": "null",
    "boolean": "true",
    "nested list": "[612.5]",
    "object": '{"v": 1}',
}


@pytest.mark.parametrize("token", REFUSED.values(), ids=REFUSED.keys())
def test_every_non_finite_or_non_number_value_is_refused(client: TestClient, token: str) -> None:
    values = f"[600.5, 601, {token}, 603]"
    cases = {
        "/v1/predict": ('{"values": ' + values + "}", "values[2]"),
        "/v1/models/toy/predict/batch": ('{"series": [[1, 2, 3], ' + values + "]}", "series[1][2]"),
        "/v1/models/toy/evaluate": ('{"values": ' + values + "}", "values[2]"),
    }
    for path, (text, field) in cases.items():
        assert_error(post_raw(client, path, text), 422, "invalid_input", field)


def test_too_few_values_says_how_many_are_needed(client: TestClient) -> None:
    body = assert_error(
        client.post("/v1/models/toy-diff/predict", json={"values": SERIES[:16]}),
        422,
        "invalid_input",
        "values",
    )
    assert "needs at least 17 values" in body["error"] and "got 16" in body["error"]
    short = client.post("/v1/models/toy/predict/batch", json={"series": [SERIES, [1.0]]})
    assert (
        "needs at least 3 values" in assert_error(short, 422, "invalid_input", "series[1]")["error"]
    )
    evaluate = client.post("/v1/models/toy/evaluate", json={"values": SERIES[:3]})
    assert "at least 4 values to evaluate" in assert_error(evaluate, 422, "invalid_input")["error"]


@pytest.mark.parametrize("body", [{"values": []}, {"horizon": 1}, {"values": 5}, {}, [1, 2]])
def test_missing_or_empty_values_are_refused(client: TestClient, body: Any) -> None:
    assert_error(client.post("/v1/predict", json=body), 422, "invalid_input")


@pytest.mark.parametrize("horizon", [0, 121, -1, True, 1.5, "2", None])
def test_horizon_outside_1_to_120_is_refused(client: TestClient, horizon: Any) -> None:
    for path, body in (
        ("/v1/predict", {"values": SERIES}),
        ("/v1/models/toy/predict/batch", {"series": [SERIES]}),
    ):
        response = client.post(path, json={**body, "horizon": horizon})
        assert_error(response, 422, "invalid_input", "horizon")


def test_horizon_120_is_accepted(client: TestClient) -> None:
    body = client.post("/v1/predict", json={"values": SERIES, "horizon": 120}).json()
    assert len(body["forecast"]) == 120


def test_default_limit_is_10000_values(client: TestClient) -> None:
    assert client.post("/v1/predict", json={"values": [600.0] * 10_000}).status_code == 200
    response = client.post("/v1/predict", json={"values": [600.0] * 10_001})
    assert "at most 10000 values" in assert_error(response, 422, "invalid_input", "values")["error"]


def test_limits_on_values_and_series_come_from_settings(settings: Settings) -> None:
    small = settings.model_copy(update={"max_values": 50, "max_series": 2, "max_horizon": 5})
    with TestClient(create_app(small)) as c:
        too_long = c.post("/v1/predict", json={"values": SERIES[:51]})
        assert (
            "at most 50 values" in assert_error(too_long, 422, "invalid_input", "values")["error"]
        )
        batch = c.post("/v1/models/toy/predict/batch", json={"series": [SERIES[:9]] * 3})
        assert_error(batch, 422, "invalid_input", "series")
        assert_error(
            c.post("/v1/predict", json={"values": SERIES[:9], "horizon": 6}),
            422,
            "invalid_input",
            "horizon",
        )
        assert c.post("/v1/predict", json={"values": SERIES[:50], "horizon": 5}).status_code == 200


def test_unknown_fields_are_refused(client: TestClient) -> None:
    response = client.post("/v1/predict", json={"values": SERIES, "horizen": 2})
    assert_error(response, 422, "invalid_input", "horizen")


def test_malformed_json_names_the_body(client: TestClient) -> None:
    body = assert_error(post_raw(client, "/v1/predict", '{"values": [1, 2,'), 422, "invalid_input")
    assert body["errors"][0]["field"] == "body" and "invalid JSON" in body["errors"][0]["message"]


def test_a_body_labelled_json_that_is_not_json_is_refused(client: TestClient) -> None:
    response = post_raw(client, "/v1/predict", "1,2,3")  # text/csv is 415: see below
    assert "invalid JSON" in assert_error(response, 422, "invalid_input", "body")["error"]


def test_values_so_large_the_forecast_overflows_are_refused(client: TestClient) -> None:
    huge = [1.7e308] * 17  # finite, but undoing the differencing overflows:
    huge[4] = -1.7e308  # next = step + y[t-1] + y[t-12] - y[t-13]
    response = client.post("/v1/models/toy-diff/predict", json={"values": huge})
    assert "overflowed" in assert_error(response, 422, "invalid_input", "values")["error"]


def test_values_so_large_the_scores_overflow_are_refused(client: TestClient) -> None:
    response = client.post(
        "/v1/models/toy/evaluate", json={"values": [1e200 * k for k in range(1, 7)]}
    )
    assert "scores overflowed" in assert_error(response, 422, "invalid_input", "values")["error"]


def test_oversized_body_is_413(client: TestClient) -> None:
    text = json.dumps({"values": [600.123456789] * 100_000})
    assert len(text) > 1 << 20
    assert_error(post_raw(client, "/v1/predict", text), 413, "payload_too_large")


# Found by fuzzing: Schemathesis (tests/reliability/test_fuzz_openapi.py), live.
def test_a_body_that_is_not_utf8_is_invalid_input_not_an_undocumented_400(
    client: TestClient,
) -> None:
    refused = client.post(
        "/v1/predict", content=b'{"values": [\xff]}', headers={"content-type": "application/json"}
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "body"
    v2 = client.post("/v2/models/toy/infer", content=b"\xff\xfe\xfd")
    assert v2.status_code == 400  # the protocol's status for bad input, as documented


# Found by fuzzing: Schemathesis (tests/reliability/test_fuzz_openapi.py), live.
def test_json_nested_too_deep_is_invalid_input(client: TestClient) -> None:
    deep = b'{"values": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    refused = client.post("/v1/predict", content=deep, headers={"content-type": "application/json"})
    assert refused.status_code == 422 and "RecursionError" in refused.json()["error"]


# --- unknown things and failures --------------------------------------------------------


def test_unknown_route_and_wrong_method_are_json(client: TestClient) -> None:
    assert_error(client.get("/v2/nothing"), 404, "not_found")
    assert_error(client.get("/v1/predict"), 405, "method_not_allowed")


def test_an_unexpected_error_is_a_json_500_without_traceback(settings: Settings) -> None:
    class Broken(Registry):
        def __init__(self) -> None:
            super().__init__(Path("unused"), loader=never_called)

        def served(self, name: str) -> Any:
            raise RuntimeError("secret internals")

    app = create_app(settings)
    serve_registry(app, Broken(), settings)
    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.post("/v1/predict", json={"values": SERIES})
    body = assert_error(response, 500, "internal_error")
    assert "secret" not in response.text and "Traceback" not in response.text
    assert body["error"].startswith("internal error")


# --- prediction intervals ---------------------------------------------------------------


def _predict(client: TestClient, model: str, **body: Any) -> Any:
    return client.post(f"/v1/models/{model}/predict", json={"values": SERIES, **body})


def test_intervals_bracket_the_forecast_nest_by_level_and_widen_with_the_step(
    client: TestClient,
) -> None:
    body = _predict(client, "toy", horizon=6, levels=[95, 80]).json()
    forecast = np.array(body["forecast"])
    bands = {b["level"]: (np.array(b["lower"]), np.array(b["upper"])) for b in body["intervals"]}
    assert list(bands) == [80.0, 95.0]  # sorted
    for lower, upper in bands.values():
        assert (lower < forecast).all() and (forecast < upper).all()
        assert (np.diff(upper - lower) >= -1e-9).all() and upper[-1] - lower[-1] > upper[0] - lower[
            0
        ]
    assert (bands[95][0] <= bands[80][0]).all() and (bands[95][1] >= bands[80][1]).all()


def test_the_default_levels_apply_and_an_empty_list_turns_them_off(client: TestClient) -> None:
    assert [b["level"] for b in _predict(client, "toy").json()["intervals"]] == [80.0, 95.0]
    assert _predict(client, "toy", levels=[]).json()["intervals"] == []


@pytest.mark.parametrize(
    ("model", "body", "field", "message"),
    [
        ("toy-diff", {"levels": [80]}, "levels", "has no calibrated intervals"),
        ("toy", {"levels": [80], "horizon": 7}, "horizon", "calibrated up to 6 steps"),
        ("toy", {"levels": [100]}, "levels[0]", "less than 100"),
        ("toy", {"levels": [0]}, "levels[0]", "greater than 0"),
        ("toy", {"levels": ["80"]}, "levels[0]", "valid number"),
        ("toy", {"levels": [True]}, "levels[0]", "valid number"),
    ],
)
def test_levels_that_cannot_be_served_are_422_saying_the_limit(
    client: TestClient, model: str, body: dict[str, Any], field: str, message: str
) -> None:
    error = assert_error(_predict(client, model, **body), 422, "invalid_input", field)
    assert message in error["error"]


def test_beyond_the_calibrated_horizon_the_default_levels_give_way_with_a_warning(
    client: TestClient,
) -> None:
    body = _predict(client, "toy", horizon=8).json()
    assert len(body["forecast"]) == 8 and body["intervals"] == []
    assert body["warnings"] == [
        "intervals: none, since intervals are calibrated up to 6 steps ahead, and horizon is 8"
    ]


def test_batch_intervals_have_a_row_per_series(client: TestClient) -> None:
    rows = [SERIES, SERIES[:-3]]
    body = client.post(
        "/v1/models/toy/predict/batch", json={"series": rows, "horizon": 2, "levels": [80]}
    ).json()
    (band,) = body["intervals"]
    assert np.shape(band["lower"]) == np.shape(band["upper"]) == (2, 2)
    single = _predict(client, "toy", horizon=2, levels=[80]).json()["intervals"][0]
    # Equal within float32 rounding: the engine's BLAS may sum a batch in another order.
    assert band["lower"][0] == pytest.approx(single["lower"], rel=1e-6)
    assert band["upper"][0] == pytest.approx(single["upper"], rel=1e-6)


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


# --- the errors a person makes first ----------------------------------------------------


@pytest.mark.parametrize(
    ("content", "media"),
    [(b"month,value\n1962-01,589\n", "text/csv"), (b"589 561 640", "text/plain")],
)
def test_a_csv_or_text_body_is_415_with_the_expected_shape(
    client: TestClient, content: bytes, media: str
) -> None:
    response = client.post("/v1/predict", content=content, headers={"content-type": media})
    body = assert_error(response, 415, "unsupported_media_type")
    assert f"the body is {media}" in body["error"] and '{"values": [' in body["error"]


def test_an_empty_body_shows_the_shape_the_endpoint_expects(client: TestClient) -> None:
    body = assert_error(post_raw(client, "/v1/models/toy/predict/batch", ""), 422, "invalid_input")
    assert body["errors"][0]["field"] == "body" and '{"series": [[' in body["error"]

"""The v1 forecast routes' refusals in process: every bad body (values, horizon, limits,
JSON, media type) answered with the status and the field it concerns, unknown routes and
methods as JSON, and an unexpected error as a JSON 500 without a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from apikit import SERIES, assert_error, never_called, post_raw, serve_registry
from fastapi.testclient import TestClient

from app.main import create_app
from app.registry import Registry
from app.settings import Settings

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

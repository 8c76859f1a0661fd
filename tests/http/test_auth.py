"""API keys: every model endpoint refuses without the right key, probes stay open, keys come
from the environment and from a file, and the service says once when it runs open."""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tritonclient.http as triton
from fastapi.testclient import TestClient
from liveserver import live_server
from modelkit import synthetic_series
from pydantic import SecretStr
from tritonclient.utils import InferenceServerException

from app.http import auth
from app.main import create_app
from app.settings import Settings

SERIES = [float(v) for v in synthetic_series()]
KEYS = ("first-key", "second-key")
GOOD = {"Authorization": f"Bearer {KEYS[1]}"}
V2_INFER = {
    "inputs": [{"name": "values", "shape": [1, 40], "datatype": "FP64", "data": SERIES[:40]}]
}
TS_SERIES = {"type": "univariate_time_series", "name": "a", "series": SERIES[:40]}
TS_FORECAST = {
    "model": "toy",
    "inputs": [TS_SERIES | {"frequency": "month", "start_timestamp": "2000-01"}],
    "options": {"horizon": 1},
}
# Every model endpoint, with a body it answers 200 to when the key is right.
PROTECTED: list[tuple[str, str, Any]] = [
    ("get", "/v1/models", None),
    ("get", "/v1/models/toy", None),
    ("get", "/v1/models/toy/report.png", None),
    ("post", "/v1/predict", {"values": SERIES}),
    ("post", "/v1/models/toy/predict", {"values": SERIES}),
    ("post", "/v1/models/toy/predict/batch", {"series": [SERIES]}),
    ("post", "/v1/models/toy/evaluate", {"values": SERIES}),
    ("post", "/v1/models/toy/reload", None),
    ("get", "/v1/models/toy/accuracy", None),
    ("get", "/v2/models/toy", None),
    ("get", "/v2/models/toy/versions/1", None),
    ("get", "/v2/models/toy/ready", None),
    ("get", "/v2/models/toy/versions/1/ready", None),
    ("post", "/v2/models/toy/infer", V2_INFER),
    ("post", "/v2/models/toy/versions/1/infer", V2_INFER),
    ("post", "/v1/timeseries/forecast", TS_FORECAST),
    ("get", "/v1/timeseries/models", None),
]
OPEN = ["/health", "/ready", "/v2", "/v2/health/live", "/v2/health/ready", "/docs", "/openapi.json"]


@pytest.fixture
def keyed(settings: Settings) -> Iterator[TestClient]:
    """The app with two keys configured."""
    with TestClient(
        create_app(settings.model_copy(update={"api_keys": SecretStr(",".join(KEYS))}))
    ) as c:
        yield c


def call(client: TestClient, method: str, path: str, body: Any, **headers: str) -> Any:
    return client.request(method, path, json=body, headers=headers)


def assert_refused(response: Any, path: str) -> None:
    """401, a Bearer challenge, and the error body of the path's protocol."""
    assert response.status_code == 401, (path, response.text)
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["error"] and "first-key" not in response.text
    if path.startswith("/v2/"):
        assert list(body) == ["error"]
    elif path.startswith("/v1/timeseries/"):  # KServe's time-series ErrorResponse
        assert list(body) == ["error"] and body["error"]["type"] == "unauthorized"
        assert body["error"]["code"] == "401"
    else:
        assert body["type"] == "unauthorized"


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
def test_model_endpoints_refuse_a_missing_or_wrong_key(
    keyed: TestClient, method: str, path: str, body: Any
) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEYS[0]}"}):
        assert_refused(call(keyed, method, path, body, **headers), path)
    missing = call(keyed, method, path, body)
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = call(keyed, method, path, body, Authorization="Bearer wrong")
    assert wrong.headers["www-authenticate"] == 'Bearer error="invalid_token"'


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
def test_model_endpoints_answer_the_right_key(
    keyed: TestClient, method: str, path: str, body: Any
) -> None:
    assert call(keyed, method, path, body, **GOOD).status_code == 200


def test_no_model_route_is_left_unprotected(keyed: TestClient) -> None:
    """Every documented route under /v1 or /v2/models, even later ones (reload), needs a key."""
    paths = keyed.get("/openapi.json").json()["paths"]
    guarded = [
        (method, re.sub(r"\{(\w+)\}", lambda m: "1" if m[1] == "version" else "toy", path))
        for path, methods in paths.items()
        if path.startswith(("/v1", "/v2/models"))
        for method in methods
    ]
    assert len(guarded) >= len(PROTECTED)
    for method, path in guarded:
        assert_refused(keyed.request(method, path, json={}), path)


@pytest.mark.parametrize("path", OPEN)
def test_probes_docs_and_metadata_stay_open(keyed: TestClient, path: str) -> None:
    assert keyed.get(path).status_code == 200


def test_metrics_stay_open_if_served(keyed: TestClient) -> None:
    response = keyed.get("/metrics")
    if response.status_code == 404:
        pytest.skip("no /metrics route in this build")
    assert response.status_code == 200


def test_keys_come_from_the_environment(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORECAST_API_KEYS", " env-one , env-two,, ")
    from_env = Settings(model_dir=settings.model_dir, default_model="toy")
    with TestClient(create_app(from_env)) as c:
        assert call(c, "get", "/v1/models", None, Authorization="Bearer env-two").status_code == 200
        assert_refused(call(c, "get", "/v1/models", None, Authorization="Bearer ,"), "/v1")


def test_keys_come_from_a_file_and_add_to_the_environment(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "keys"
    secret.write_text("file-one\n\nfile-two, file-three\n")
    monkeypatch.setenv("FORECAST_API_KEYS_FILE", str(secret))
    monkeypatch.setenv("FORECAST_API_KEYS", "env-one")
    both = Settings(model_dir=settings.model_dir, default_model="toy")
    with TestClient(create_app(both)) as c:
        for key in ("file-one", "file-two", "file-three", "env-one"):
            response = call(c, "get", "/v2/models/toy", None, Authorization=f"Bearer {key}")
            assert response.status_code == 200, key
        assert_refused(call(c, "get", "/v2/models/toy", None), "/v2/models/toy")


@pytest.mark.parametrize("content", [None, "", " \n , \n"], ids=["missing", "empty", "blank"])
def test_a_missing_or_empty_key_file_stops_the_startup(
    settings: Settings, tmp_path: Path, content: str | None
) -> None:
    secret = tmp_path / "keys"
    if content is not None:
        secret.write_text(content)
    broken = settings.model_copy(update={"api_keys_file": secret})
    with pytest.raises(ValueError, match="FORECAST_API_KEYS_FILE"), TestClient(create_app(broken)):
        pass


def test_an_open_service_warns_once_at_startup(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    # `client` started already: its warning is in the setup records, not in the call's.
    setup = [r for r in caplog.get_records("setup") if r.name == "app.http.auth"]
    assert [(r.levelno, "open" in r.getMessage()) for r in setup] == [(logging.WARNING, True)]
    client.get("/v1/models")
    assert not [r for r in caplog.records if r.name == "app.http.auth"]


def test_keys_are_never_logged(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    keyed = settings.model_copy(update={"api_keys": SecretStr(",".join(KEYS))})
    with TestClient(create_app(keyed)) as c:
        call(c, "get", "/v1/models", None, **GOOD)
        call(c, "get", "/v1/models", None, Authorization=f"Bearer {KEYS[0]}x")
    assert "(2 keys)" in caplog.text and "open" not in caplog.text
    assert not any(key in caplog.text for key in KEYS)
    assert not any(key in repr(keyed) or key in str(keyed.model_dump()) for key in KEYS)


def test_every_key_is_compared_whatever_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    """No early exit: the time taken does not say which key matched, or whether one did."""
    calls: list[bool] = []
    compare = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append(compare(a, b))
        return calls[-1]

    keys = auth.ApiKeys(["a", "b", "c"])
    monkeypatch.setattr(auth.hmac, "compare_digest", counting)
    for candidate, expected in (("a", True), ("c", True), ("z", False), ("", False)):
        calls.clear()
        assert keys.accepts(candidate) is expected
        assert len(calls) == 3 and sum(calls) == int(expected)


def test_openapi_declares_the_bearer_scheme_on_model_routes_only(keyed: TestClient) -> None:
    spec = keyed.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    secured = {
        path
        for path, methods in spec["paths"].items()
        for operation in methods.values()
        if operation.get("security") == [{"HTTPBearer": []}]
    }
    assert {"/v1/predict", "/v1/models", "/v2/models/{name}/infer"} <= secured
    assert not secured & {"/health", "/ready", "/v2", "/v2/health/live", "/v2/health/ready"}


# Found by fuzzing: Schemathesis (tests/reliability/test_fuzz_openapi.py), live.
def test_an_open_server_documents_the_key_as_optional_and_every_401(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    secured = [
        op for methods in spec["paths"].values() for op in methods.values() if "security" in op
    ]
    assert len(secured) == 20  # every /v1 (time series included) and /v2/models operation
    for operation in secured:
        assert operation["security"] == [{"HTTPBearer": []}, {}], operation["summary"]
        assert "401" in operation["responses"], operation["summary"]


def test_a_v2_client_authenticates_against_a_live_server(toy_models: Path, tmp_path: Path) -> None:
    secret = tmp_path / "keys"
    secret.write_text("live-key\n")
    env = {
        "FORECAST_MODEL_DIR": str(toy_models),
        "FORECAST_DEFAULT_MODEL": "toy",
        "FORECAST_API_KEYS_FILE": str(secret),
    }
    with live_server(env, tmp_path / "log") as running:
        client = triton.InferenceServerClient(running.url.removeprefix("http://"))
        tensor = triton.InferInput("values", [1, 40], "FP64")
        tensor.set_data_from_numpy(np.asarray([SERIES[:40]]), binary_data=False)
        assert client.is_server_ready()
        with pytest.raises(InferenceServerException) as refused:
            client.infer("toy", [tensor])
        assert refused.value.status() == "401"
        result = client.infer("toy", [tensor], headers={"Authorization": "Bearer live-key"})
        forecast = result.as_numpy("forecast")
        assert forecast is not None and forecast.shape == (1, 1)
    assert "live-key" not in (tmp_path / "log").read_text()

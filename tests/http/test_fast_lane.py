"""The fast lane answers what FastAPI answers, to the byte, and leaves FastAPI everything else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apikit import SERIES
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.types import Message, Receive, Scope, Send
from tskit import FORECAST, body, series_input

from app.http.deps import SettingsDep
from app.http.fast_lane import FastLane
from app.main import create_app
from app.settings import Settings
from app.timeseries import routes as timeseries
from app.v1.predict import fast_routes
from app.v1.schemas import PredictRequest, PredictResponse
from app.v2 import routes as v2

KEY = "lane-key"
AUTH = {"authorization": f"Bearer {KEY}"}
JSON = {"content-type": "application/json"}

ANSWERED = [  # path, body: the plain case, answered by the lane
    ("/v1/predict", {"values": SERIES, "horizon": 3}),
    ("/v1/predict", {"values": SERIES, "horizon": 2, "levels": [50, 99.5]}),
    ("/v1/predict", {"values": SERIES, "levels": []}),
    ("/v1/predict", {"values": SERIES * 8}),  # a warning: values far outside training
    ("/v1/models/toy/predict", {"values": SERIES, "start": "2001-01"}),
    ("/v1/models/toy-diff/predict", {"values": SERIES, "horizon": 4}),
    ("/v1/models/toy/predict/batch", {"series": [SERIES, SERIES[:-3]], "horizon": 2}),
    ("/v1/models/toy/evaluate", {"values": SERIES, "levels": [80]}),
    # refused by the endpoint, with the app's own error body
    ("/v1/models/absent/predict", {"values": SERIES}),
    ("/v1/predict", {"values": SERIES[:2]}),
    ("/v1/predict", {"values": SERIES, "horizon": 10_000}),
]


def _infer(rows: list[list[float]], **parameters: Any) -> dict[str, Any]:
    """A V2 infer body with an id, so both services answer with the same one."""
    flat = [v for row in rows for v in row]
    tensor = {"name": "values", "shape": [len(rows), len(rows[0])], "datatype": "FP64"}
    return {"id": "same", "inputs": [{**tensor, "data": flat}], "parameters": parameters}


V2_ANSWERED = [  # the Open Inference Protocol's infer: its answers, and its error shape
    ("/v2/models/toy/infer", _infer([SERIES], horizon=2)),
    ("/v2/models/toy/infer", _infer([SERIES, SERIES[1:]], horizon=3, levels="80")),
    ("/v2/models/toy/versions/1/infer", _infer([SERIES])),
    ("/v2/models/toy/infer", _infer([SERIES], binary_data_output=True)),  # a framed answer
    ("/v2/models/toy/infer", _infer([[v * 8 for v in SERIES]])),  # a warning
    ("/v2/models/toy/infer", _infer([SERIES[:2]])),  # 400: too short
    ("/v2/models/absent/infer", _infer([SERIES])),  # 404
    ("/v2/models/toy/versions/2/infer", _infer([SERIES])),  # 404: not the served version
]
ANSWERED += V2_ANSWERED
TIME_SERIES_ANSWERED = [  # KServe's time-series forecast: its answers, and its error shape
    body(quantiles=[0.1, 0.5, 0.9]),
    body(series_input("a"), series_input("b", SERIES[1:41]), horizon=2),
    body(series_input("far", [v * 8 for v in SERIES[:40]])),  # a warning
    body(series_input(series=SERIES[:2])),  # 400: too short
    body(quantiles=[0.1 * k for k in range(1, 10)] * 3),  # 400: too many levels
    body(model="absent"),  # 404
]
LEFT = [  # path, raw body, headers: what FastAPI answers
    ("/v1/predict", b"{}", {**JSON, **AUTH}),
    ("/v1/predict", b'{"values": []}', {**JSON, **AUTH}),
    ("/v1/predict", b"[1, 2]", {**JSON, **AUTH}),
    ("/v1/predict", b'{"values": [1, 2', {**JSON, **AUTH}),
    ("/v1/predict", b"", {**JSON, **AUTH}),
    ("/v1/predict", b"1,2,3", {"content-type": "text/csv", **AUTH}),
    ("/v1/predict", json.dumps({"values": SERIES}).encode(), {**AUTH}),  # no content type
    ("/v1/predict", json.dumps({"values": SERIES}).encode(), JSON),  # no key
    (
        "/v1/predict",
        json.dumps({"values": SERIES}).encode(),
        {**JSON, "authorization": "Bearer no"},
    ),
    ("/v1/predict", json.dumps({"values": SERIES}).encode(), {**JSON, "authorization": "Basic a"}),
    ("/v1/predict", json.dumps({"values": SERIES}).encode(), {**JSON, "authorization": "Bearer"}),
    ("/v2/models/toy/infer", b'{"inputs": []}', {**JSON, **AUTH}),  # a V2 400 from FastAPI's side
    (  # binary framing: FastAPI's side unframes it
        "/v2/models/toy/infer",
        json.dumps(_infer([SERIES])).encode(),
        {**JSON, **AUTH, "inference-header-content-length": str(len(json.dumps(_infer([SERIES]))))},
    ),
]


def _client(models: Path, lane: bool) -> TestClient:
    settings = Settings(
        model_dir=models, default_model="toy", api_keys=SecretStr(KEY), fast_lane=lane
    )
    return TestClient(create_app(settings))


@pytest.fixture(scope="module")
def clients(toy_models: Path) -> Iterator[tuple[TestClient, TestClient]]:
    """The same service with the lane and without it."""
    with _client(toy_models, True) as lane, _client(toy_models, False) as fastapi:
        yield lane, fastapi


def _same(mine: Any, theirs: Any) -> None:
    assert mine.status_code == theirs.status_code
    assert mine.content == theirs.content
    skip = {"x-request-id"}
    assert {k: v for k, v in mine.headers.items() if k not in skip} == {
        k: v for k, v in theirs.headers.items() if k not in skip
    }


@pytest.mark.parametrize(("path", "body"), ANSWERED)
def test_the_lane_answers_as_fastapi_does(
    clients: tuple[TestClient, TestClient], path: str, body: Any
) -> None:
    lane, fastapi = clients
    raw = json.dumps(body).encode()
    _same(
        lane.post(path, content=raw, headers={**JSON, **AUTH}),
        fastapi.post(path, content=raw, headers={**JSON, **AUTH}),
    )


def test_a_v2_body_without_a_content_type_is_json_there_as_fastapi_reads_it(
    clients: tuple[TestClient, TestClient], lane: tuple[TestClient, _Behind]
) -> None:
    """tritonclient sends JSON without a content type; V2's routes read it as JSON, v1's 415."""
    raw = json.dumps(_infer([SERIES])).encode()
    _same(*(c.post("/v2/models/toy/infer", content=raw, headers=AUTH) for c in clients))
    client, behind = lane
    assert client.post("/v2/models/toy/infer", content=raw, headers=AUTH).status_code == 200
    assert behind.seen == []


@pytest.mark.parametrize("request_body", TIME_SERIES_ANSWERED)
def test_the_lane_answers_kserve_time_series_as_fastapi_does(
    clients: tuple[TestClient, TestClient], request_body: dict[str, Any]
) -> None:
    """The same status, headers and answer; `created_at` is each answer's own second."""
    headers = {**JSON, **AUTH, "x-request-id": "same"}
    mine, theirs = (c.post(FORECAST, json=request_body, headers=headers) for c in clients)
    assert mine.status_code == theirs.status_code
    assert mine.headers == theirs.headers
    assert _without_created_at(mine.json()) == _without_created_at(theirs.json())


def _without_created_at(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "created_at"}


@pytest.mark.parametrize(("path", "raw", "headers"), LEFT)
def test_what_the_lane_leaves_gets_fastapis_answer(
    clients: tuple[TestClient, TestClient], path: str, raw: bytes, headers: dict[str, str]
) -> None:
    lane, fastapi = clients
    _same(
        lane.post(path, content=raw, headers=headers),
        fastapi.post(path, content=raw, headers=headers),
    )


class _Behind:
    """What the lane hands on: records each request and its whole body; answers 599."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bytes]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message: Message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        self.seen.append((scope["path"], body))
        await send({"type": "http.response.start", "status": 599, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def lane(clients: tuple[TestClient, TestClient]) -> Iterator[tuple[TestClient, _Behind]]:
    """The lane alone, in front of a recorder instead of FastAPI, for a started app."""
    behind = _Behind()
    started = clients[0].app
    routes = fast_routes() + v2.fast_routes() + timeseries.fast_routes()
    yield TestClient(FastLane(behind, fastapi=started, routes=routes)), behind  # type: ignore[arg-type]


@pytest.mark.parametrize(("path", "body"), ANSWERED)
def test_the_plain_case_never_reaches_fastapi(
    lane: tuple[TestClient, _Behind], path: str, body: Any
) -> None:
    client, behind = lane
    response = client.post(path, json=body, headers=AUTH)
    assert response.status_code != 599 and behind.seen == []


@pytest.mark.parametrize("request_body", TIME_SERIES_ANSWERED)
def test_the_plain_time_series_forecast_never_reaches_fastapi(
    lane: tuple[TestClient, _Behind], request_body: dict[str, Any]
) -> None:
    client, behind = lane
    response = client.post(FORECAST, json=request_body, headers=AUTH)
    assert response.status_code != 599 and behind.seen == []


@pytest.mark.parametrize(("path", "raw", "headers"), LEFT)
def test_fastapi_gets_what_the_lane_leaves_with_its_whole_body(
    lane: tuple[TestClient, _Behind], path: str, raw: bytes, headers: dict[str, str]
) -> None:
    client, behind = lane
    assert client.post(path, content=raw, headers=headers).status_code == 599
    assert behind.seen == [(path, raw)]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/predict"), ("POST", "/v1/models/toy"), ("POST", "/v1/models/a/b/predict")],
)
def test_other_routes_and_methods_pass_through(
    lane: tuple[TestClient, _Behind], method: str, path: str
) -> None:
    client, behind = lane
    assert client.request(method, path, json={"values": SERIES}, headers=AUTH).status_code == 599
    assert [seen for seen, _ in behind.seen] == [path]


def test_with_swapped_dependencies_fastapi_answers(
    clients: tuple[TestClient, TestClient], lane: tuple[TestClient, _Behind]
) -> None:
    client, behind = lane
    app = clients[0].app
    app.dependency_overrides[object] = object  # type: ignore[attr-defined]
    try:
        assert client.post("/v1/predict", json={"values": SERIES}, headers=AUTH).status_code == 599
        assert len(behind.seen) == 1
    finally:
        app.dependency_overrides.clear()  # type: ignore[attr-defined]


def test_the_access_log_and_metrics_name_the_route_template(
    clients: tuple[TestClient, TestClient], capsys: pytest.CaptureFixture[str]
) -> None:
    lane, _ = clients
    capsys.readouterr()
    assert lane.post("/v1/models/toy/predict", json={"values": SERIES}, headers=AUTH).is_success
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    access = [line for line in lines if line["logger"] == "app.access"]
    assert [(a["route"], a["model"], a["version"]) for a in access] == [
        ("/v1/models/{name}/predict", "toy", 1)
    ]
    scrape = lane.get("/metrics").text
    assert 'route="/v1/models/{name}/predict"' in scrape


async def _plain(body: PredictRequest) -> PredictResponse:
    raise AssertionError("never called")


async def _needs_settings(body: PredictRequest, settings: SettingsDep) -> PredictResponse:
    raise AssertionError("never called")


async def _needs_a_query(body: PredictRequest, limit: int) -> PredictResponse:
    raise AssertionError("never called")


async def _settings_of_another_kind(body: PredictRequest, settings: int) -> PredictResponse:
    raise AssertionError("never called")


def _routes(endpoint: Any = _plain, **options: Any) -> list[Any]:
    router = APIRouter()
    router.post("/x", **options)(endpoint)
    return router.routes


@pytest.mark.parametrize(
    ("endpoint", "options", "why"),
    [
        (_needs_a_query, {}, "gives only body, path and"),
        (_settings_of_another_kind, {}, "gives only body, path and"),
        (_plain, {"dependencies": [Depends(lambda: None)]}, "checks the API key, nothing else"),
        (_plain, {"response_model_exclude_unset": True}, "dumps the whole response model"),
        (_plain, {"status_code": 201}, "answers 200"),
    ],
)
def test_a_route_the_lane_cannot_answer_as_fastapi_is_refused_at_startup(
    endpoint: Any, options: dict[str, Any], why: str
) -> None:
    with pytest.raises(ValueError, match=why):
        FastLane(_Behind(), fastapi=None, routes=_routes(endpoint, **options))  # type: ignore[arg-type]


def test_a_plain_route_takes_the_lane() -> None:
    lane = FastLane(_Behind(), fastapi=None, routes=_routes())  # type: ignore[arg-type]
    assert [entry.route.path for entry in lane.lanes] == ["/x"]
    typed = FastLane(_Behind(), fastapi=None, routes=_routes(_needs_settings))  # type: ignore[arg-type]
    assert typed.lanes[0].params == {"body", "settings"}

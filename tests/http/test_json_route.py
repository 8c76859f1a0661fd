"""JSONBodyRoute: pydantic's JSON parser on the fast path, FastAPI's answers unchanged."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from app.http.exception_handlers import install_error_handlers
from app.http.json_route import JSONBodyRoute, _ModelRequest
from app.v1.schemas import BatchPredictRequest, PredictRequest


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    fast, plain = APIRouter(route_class=JSONBodyRoute), APIRouter()
    for router, path in ((fast, "/fast"), (plain, "/plain")):

        @router.post(path)
        async def echo(body: PredictRequest) -> PredictRequest:
            return body

        app.include_router(router)
    return app


BODIES = [
    b'{"values": [1, 2.5, 3], "horizon": 2}',
    b'{"values": ["1.5", 2, 3]}',
    b'{"values": [1, 2, NaN]}',
    b'{"values": [1, 2, 3], "horizon": 0}',
    b'{"values": "not a list"}',
    b'{"values": [1, 2, 3], "unknown": true}',
    b'{"values": [1, 2, 3]',
    b"[]",
    b"",
    b'{"values": [1e400, 2, 3]}',
]


@pytest.mark.parametrize("body", BODIES)
def test_every_body_gets_the_answer_fastapi_gives(body: bytes) -> None:
    client = TestClient(_app())
    headers = {"content-type": "application/json"}
    fast = client.post("/fast", content=body, headers=headers)
    plain = client.post("/plain", content=body, headers=headers)
    assert (fast.status_code, fast.json()) == (plain.status_code, plain.json())


@pytest.mark.anyio
async def test_a_valid_body_is_validated_in_one_pass() -> None:
    body = b'{"series": [[1, 2, 3], [4, 5, 6]], "horizon": 1}'
    sent = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, object]:
        return sent.pop()

    scope = {"type": "http", "method": "POST", "headers": []}
    parsed = await _ModelRequest(scope, receive, BatchPredictRequest).json()
    assert isinstance(parsed, BatchPredictRequest)
    assert parsed.series == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]

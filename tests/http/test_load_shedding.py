"""Load shedding: past the in-flight limit, requests get 503 at once; probes are never refused."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from app import metrics
from app.http.middleware.load_shedding import LoadSheddingMiddleware


def slow_app(release: asyncio.Event, limit: int) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/predict")
    async def predict() -> dict[str, bool]:
        await release.wait()
        return {"ok": True}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(LoadSheddingMiddleware, limit=limit, probes=frozenset({"/health"}))
    return app


def shed_count() -> float:
    return metrics.REGISTRY.get_sample_value("forecast_http_requests_shed_total") or 0.0


@pytest.mark.anyio
async def test_excess_requests_are_refused_at_once_and_probes_still_answer() -> None:
    release = asyncio.Event()
    transport = httpx.ASGITransport(app=slow_app(release, limit=2))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        before = shed_count()
        admitted = [asyncio.create_task(client.post("/v1/predict")) for _ in range(2)]
        await asyncio.sleep(0.05)  # both are now in flight, waiting
        refused = await asyncio.wait_for(client.post("/v1/predict"), timeout=1)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert refused.json()["type"] == "overloaded" and "2 requests in flight" in refused.text
        assert shed_count() == before + 1
        probe = await asyncio.wait_for(client.get("/health"), timeout=1)
        assert probe.status_code == 200
        release.set()
        assert [r.status_code for r in await asyncio.gather(*admitted)] == [200, 200]
        again = await client.post("/v1/predict")  # load gone: admitted again at once
        assert again.status_code == 200


def predict_scope() -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": "/v1/predict", "headers": []}


@pytest.mark.anyio
async def test_a_client_still_sending_its_body_holds_no_slot() -> None:
    served: list[bytes] = []

    async def echo(scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message["body"]
            if not message.get("more_body"):
                break
        served.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    shedding = LoadSheddingMiddleware(echo, limit=1, probes=frozenset())
    stalled = asyncio.Event()  # never set: the client sent half its body and went quiet

    async def half_sent() -> Message:
        if not stalled.is_set():
            stalled.set()
            return {"type": "http.request", "body": b"half", "more_body": True}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def whole() -> Message:
        return {"type": "http.request", "body": b"complete", "more_body": False}

    answers: list[Message] = []

    async def collect(message: Message) -> None:
        answers.append(message)

    waiting = asyncio.create_task(shedding(predict_scope(), half_sent, collect))
    await stalled.wait()
    await asyncio.wait_for(shedding(predict_scope(), whole, collect), timeout=1)
    assert answers[0]["status"] == 200 and served == [b"complete"] and shedding.in_flight == 0
    waiting.cancel()


@pytest.mark.anyio
async def test_the_slot_is_freed_once_the_last_byte_is_handed_over() -> None:
    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"large answer"})

    shedding = LoadSheddingMiddleware(answer, limit=1, probes=frozenset())
    never_read = asyncio.Event()

    async def whole() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def blocked(message: Message) -> None:  # a client that never reads its answer
        if message["type"] == "http.response.body":
            await never_read.wait()

    statuses: list[int] = []

    async def collect(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    stuck = asyncio.create_task(shedding(predict_scope(), whole, blocked))
    await asyncio.sleep(0.01)
    await asyncio.wait_for(shedding(predict_scope(), whole, collect), timeout=1)
    assert statuses == [200]
    never_read.set()
    await stuck
    assert shedding.in_flight == 0


@pytest.mark.anyio
async def test_a_request_arriving_while_the_limit_is_full_is_refused_unread() -> None:
    """Its body is never read: the server discards it instead of buffering it for us."""
    release = asyncio.Event()

    async def hold(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    shedding = LoadSheddingMiddleware(hold, limit=1, probes=frozenset())

    async def whole() -> Message:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    reads = 0

    async def counted() -> Message:
        nonlocal reads
        reads += 1
        return await whole()

    answers: list[Message] = []

    async def collect(message: Message) -> None:
        answers.append(message)

    holding = asyncio.create_task(shedding(predict_scope(), whole, collect))
    await asyncio.sleep(0.01)
    assert shedding.in_flight == 1
    await asyncio.wait_for(shedding(predict_scope(), counted, collect), timeout=1)
    assert answers[0]["status"] == 503 and reads == 0
    release.set()
    await holding
    assert answers[2]["status"] == 200 and shedding.in_flight == 0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"

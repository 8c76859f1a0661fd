"""Load shedding: past the in-flight limit, requests get 503 at once; probes are never refused."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

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

    app.add_middleware(LoadSheddingMiddleware, limit=lambda: limit)
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


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"

"""`GET /metrics` for Prometheus: open like the probes, and answered on the event loop.

It is `async` on purpose: rendering the few metric families takes well under a
millisecond (measured), and a scrape must still be answered when every thread
of the pool is busy forecasting, or dashboards go blank exactly when load peaks.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.metrics import exposition

SCRAPE = "/metrics"
"""A probe path (see `app.http.routes.health.LIVE`)."""

router = APIRouter(tags=["probes"])


@router.get(
    SCRAPE,
    summary="Prometheus metrics: requests, latency, forecasts, model versions, process",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics(request: Request) -> Response:
    body, content_type = exposition(request.headers.get("accept"))
    return Response(body, media_type=content_type)

"""Benchmark only: `POST /bench/validate`, everything `POST /v1/predict` does but the forecast.

The benchmark compares predict with this route to see what the forecast itself
costs next to HTTP, parsing and validation. It takes the same body model,
passes the same checks (the data plane's `validate`), needs a key when predict
does, and runs on the event loop like a small predict. The app includes this router
only when `FORECAST_ENABLE_BENCH_ROUTES` is true (otherwise the route does not
exist), and it is never in the OpenAPI schema: a measuring stick, not the API.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import BaseModel

from app.http.auth import PROTECTED
from app.http.deps import DataPlaneDep
from app.v1.schemas import PredictRequest

router = APIRouter(prefix="/bench", include_in_schema=False, dependencies=PROTECTED)


class Valid(BaseModel):
    ok: Literal[True] = True


@router.post("/validate")
async def validate(body: PredictRequest, plane: DataPlaneDep) -> Valid:
    plane.validate(plane.default_model, body.values or (), body.horizon)
    return Valid()


def fast_routes() -> list[APIRoute]:
    """The route takes the fast lane, as `POST /v1/predict` does: same stack, minus the forecast."""
    return [route for route in router.routes if isinstance(route, APIRoute)]

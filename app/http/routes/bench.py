"""Benchmark only: `POST /bench/validate`, everything `POST /v1/predict` does but the forecast.

The benchmark (issue 6) compares predict with this route to see what the
forecast itself costs next to HTTP, parsing and validation. It takes the same
body model, passes the same checks (the data plane's `validate`), needs a key
when predict does, and runs in the thread pool like predict. It answers 404,
as if it did not exist, unless `FORECAST_ENABLE_BENCH_ROUTES` is true, and it is
never in the OpenAPI schema: it is a measuring stick, not part of the API.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from app.errors import NotFound
from app.http.auth import require_api_key
from app.http.deps import DataPlaneDep, SettingsDep
from app.http.schemas import PredictRequest


async def _require_enabled(settings: SettingsDep) -> None:
    if not settings.enable_bench_routes:
        raise NotFound("Not Found")  # the body an unknown route gets


router = APIRouter(
    prefix="/bench",
    include_in_schema=False,
    dependencies=[Depends(_require_enabled), Depends(require_api_key)],
)


class Valid(BaseModel):
    ok: Literal[True] = True


@router.post("/validate")
def validate(body: PredictRequest, plane: DataPlaneDep, settings: SettingsDep) -> Valid:
    plane.validate(settings.default_model, body)
    return Valid()

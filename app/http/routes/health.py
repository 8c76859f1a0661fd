"""Probes: liveness answers while the process runs; readiness waits for the default model.

Both are `async`: they take microseconds and must answer even when every
thread-pool worker is busy with forecasts, or an orchestrator would restart a
healthy, merely busy process."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.errors import ModelNotFound, ModelNotReady
from app.http.deps import RegistryDep, SettingsDep, refuse_while_draining
from app.http.responses import error_responses
from app.http.status import Health, Ready, ServedModel

router = APIRouter(tags=["probes"])


@router.get("/health", summary="Liveness: 200 while the process runs")
async def health() -> Health:
    return Health()


@router.get(
    "/ready",
    summary="Readiness: 200 once the default model is served",
    responses=error_responses(
        503, reasons={503: "The default model is not served, or the server is shutting down."}
    ),
)
async def ready(
    registry: RegistryDep,
    settings: SettingsDep,
    _: Annotated[None, Depends(refuse_while_draining)],
) -> Ready:
    name = settings.default_model
    try:
        registry.served(name)
    except ModelNotFound:
        raise ModelNotReady(
            f"default model {name!r} not found under {settings.model_dir}"
        ) from None
    served = [
        ServedModel(name=s.name, version=s.served.number)
        for s in registry.states()
        if s.served is not None
    ]
    return Ready(default_model=name, models=served)

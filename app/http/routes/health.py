"""Probes: liveness answers while the process runs; readiness waits for the default model.

Readiness does not wait for the ledger: a database out of reach leaves forecasts
answering, so `/ready` stays 200 and says `"ledger": "degraded"` in its body.

Both are `async`: they take microseconds and must answer even when every
thread-pool worker is busy with forecasts, or an orchestrator would restart a
healthy, merely busy process.

Readiness is open, so it says ready or not and why in words, never what a
refusal's own reason holds (absolute paths, file names, hash prefixes: those
are in the log, and behind the key in `/v1/models`). With API keys on it names
no model at all, since the key guards the model list; with keys off, where
`/v1/models` is open too, it names the models that help an operator.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from app.errors import ModelNotFound, ModelNotReady
from app.http.auth import keys_required
from app.http.deps import RegistryDep, SettingsDep, refuse_while_draining
from app.http.responses import error_responses
from app.http.status import Health, Ready, ServedModel
from app.ledger.service import LedgerService
from app.registry import ModelState, Registry

LIVE, READY = "/health", "/ready"
"""Probe paths: `app.main` hands every protocol's probe paths to the middlewares, which count
probes without timing them, log them at DEBUG and never shed them."""

router = APIRouter(tags=["probes"])


@router.get(LIVE, summary="Liveness: 200 while the process runs")
async def health() -> Health:
    return Health()


@router.get(
    READY,
    summary="Readiness: 200 once the default model is served",
    response_model_exclude_none=True,
    responses=error_responses(
        503, reasons={503: "The default model is not served, or the server is shutting down."}
    ),
)
async def ready(
    request: Request,
    registry: RegistryDep,
    settings: SettingsDep,
    _: Annotated[None, Depends(refuse_while_draining)],
) -> Ready:
    name, guarded = settings.default_model, keys_required(request)
    try:
        state = registry.state(name)
    except ModelNotFound:
        raise ModelNotReady(_missing(registry, name, guarded)) from None
    if state.served is None:
        raise ModelNotReady(_not_served(state, guarded))
    ledger: LedgerService | None = request.app.state.ledger
    status = "off" if ledger is None else ledger.status
    if guarded:
        return Ready(ledger=status)
    served = [
        ServedModel(name=s.name, version=s.served.version)
        for s in registry.states()
        if s.served is not None
    ]
    return Ready(ledger=status, default_model=name, models=served)


def _missing(registry: Registry, name: str, guarded: bool) -> str:
    if guarded:
        return "the default model is not served: no such model"
    listed = ", ".join(repr(s.name) for s in registry.states()) or "none"
    return f"default model {name!r} not found in the model directory; models: {listed}"


def _not_served(state: ModelState, guarded: bool) -> str:
    """Why, in words built from the state's structure; never its reasons' text."""
    if state.unlisted is not None:
        why = "its directory cannot be read"
    elif state.failures:
        why = "no version verifies"
    else:
        why = "no versions on disk"
    if guarded:
        return f"the default model is not served: {why}"
    message = f"default model {state.name!r} is not served: {why}"
    if state.failures:
        refused = sorted(state.failures, reverse=True)
        numbers = ", ".join(str(v) for v in refused)
        message += f" (refused: version{'s' if len(refused) > 1 else ''} {numbers})"
    if state.failures or state.unlisted is not None:
        message += "; GET /v1/models says why"
    return message

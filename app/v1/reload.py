"""`POST /v1/models/{name}/reload`: load the newest version of a model now, without waiting for
the next poll, and say what is served afterwards and why a newer version was refused.

The load runs on the watcher's own threads, never on the forecast threads (a
load that hangs, such as hashing a FIFO, would otherwise take a thread forecasts
need), and the endpoint awaits it for `FORECAST_LOAD_WAIT_SECONDS` at most: a
load still going on then is answered 202 and finishes in the background
(`GET /v1/models` shows when). A reload asked for while the model's load runs
waits for the follow-up load after it, which reads the directory as it is then.
It needs a key when keys are set, like every model endpoint. With several
workers it reloads the worker that answers; the others follow at their next
poll (`FORECAST_POLL_SECONDS`).
"""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.http.auth import PROTECTED
from app.http.deps import WatcherDep
from app.http.responses import error_responses
from app.watcher import ModelWatcher

router = APIRouter(
    prefix="/v1/models", tags=["models"], dependencies=PROTECTED, responses=error_responses(401)
)


class ReloadResult(BaseModel):
    """The model after the reload."""

    name: str
    state: Literal["ready", "loading", "failed"]
    version: int | None = Field(description="Version served now; null when none is.")
    previous_version: int | None = Field(description="Version served before the reload.")
    swapped: bool = Field(description="Whether the served version changed.")
    versions_on_disk: list[int]
    refused: dict[int, str] = Field(
        description="Versions newer than the served one that failed, with the reason."
    )
    reason: str | None = Field(description="Why no version is served, when none is.")


class ReloadPending(BaseModel):
    """The load has not ended within the wait; it goes on, and is served once it verifies."""

    name: str
    state: Literal["loading"] = "loading"
    version: int | None = Field(description="Version served now, while the load goes on.")
    detail: str


@router.post(
    "/{name}/reload",
    summary="Load the newest version that verifies now; the served one stays if it fails",
    response_model=ReloadResult,
    responses={
        202: {
            "model": ReloadPending,
            "description": "The load has not ended within `FORECAST_LOAD_WAIT_SECONDS`;"
            " it goes on in the background.",
        },
        **error_responses(404, reasons={404: "No model of that name, served or on disk."}),
    },
)
async def reload(name: str, watcher: WatcherDep) -> ReloadResult | JSONResponse:
    load = asyncio.wrap_future(watcher.reload(name))
    await asyncio.wait([load], timeout=watcher.load_wait_seconds)  # never cancels the load
    if not load.done():
        return _pending(name, watcher)
    outcome = load.result()
    state = outcome.state
    return ReloadResult(
        name=name,
        state=state.status,
        version=outcome.version,
        previous_version=outcome.previous,
        swapped=outcome.swapped,
        versions_on_disk=list(state.versions),
        refused=state.failures,
        reason=state.reason,
    )


def _pending(name: str, watcher: ModelWatcher) -> JSONResponse:
    served = watcher.served(name)
    version = served.version if served else None
    meanwhile = "no version" if version is None else f"version {version}"
    detail = (
        f"model {name!r} is still loading after {watcher.load_wait_seconds:g} s; the load goes"
        f" on and is served once it verifies ({meanwhile} is served meanwhile)"
    )
    body = ReloadPending(name=name, version=version, detail=detail)
    return JSONResponse(body.model_dump(), status_code=202)

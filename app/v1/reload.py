"""`POST /v1/models/{name}/reload`: load the newest version of a model now, without waiting for
the next poll, and say what is served afterwards and why a newer version was refused.

A plain `def`: verifying and warming a version up takes milliseconds to seconds,
so it runs in the thread pool. It needs a key when keys are set, like every
model endpoint. With several workers it reloads the worker that answers; the
others follow at their next poll (`FORECAST_POLL_SECONDS`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from app.http.auth import PROTECTED
from app.http.responses import error_responses
from app.watcher import ModelWatcher

router = APIRouter(
    prefix="/v1/models", tags=["models"], dependencies=PROTECTED, responses=error_responses(401)
)


class ReloadResult(BaseModel):
    """The model after the reload."""

    name: str
    state: Literal["ready", "failed"]
    version: int | None = Field(description="Version served now; null when none is.")
    previous_version: int | None = Field(description="Version served before the reload.")
    swapped: bool = Field(description="Whether the served version changed.")
    versions_on_disk: list[int]
    refused: dict[int, str] = Field(
        description="Versions newer than the served one that failed, with the reason."
    )
    reason: str | None = Field(description="Why no version is served, when none is.")


async def get_watcher(request: Request) -> ModelWatcher:
    watcher: ModelWatcher = request.app.state.watcher
    return watcher


@router.post(
    "/{name}/reload",
    summary="Load the newest version that verifies now; the served one stays if it fails",
    responses=error_responses(404, reasons={404: "No model of that name, served or on disk."}),
)
def reload(name: str, watcher: Annotated[ModelWatcher, Depends(get_watcher)]) -> ReloadResult:
    outcome = watcher.reload(name)
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

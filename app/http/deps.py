"""FastAPI dependencies: the settings, registry and data plane the running app was started with.

They read `app.state`: the settings `create_app` was given, and the registry and
data plane its lifespan built around them, so nothing is built at import time.
Route handlers reach settings only through `SettingsDep`. Tests swap any of
them through `app.dependency_overrides` (e.g. a registry whose model is not
ready). They are `async` because they only read
attributes: FastAPI would otherwise hop to its thread pool to call each one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.dataplane import DataPlane
from app.errors import LedgerUnavailable, ShuttingDown
from app.ledger.service import LedgerService
from app.registry import Registry
from app.settings import Settings
from app.watcher import ModelWatcher


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]


async def get_dataplane(request: Request) -> DataPlane:
    """The data plane built at startup: one dependency on the hot path, not a chain of three."""
    plane: DataPlane = request.app.state.plane
    return plane


DataPlaneDep = Annotated[DataPlane, Depends(get_dataplane)]


async def get_ledger(request: Request) -> LedgerService:
    """The ledger, or 503 saying why there is none (off, or its database out of reach)."""
    ledger: LedgerService | None = request.app.state.ledger
    if ledger is None:
        raise LedgerUnavailable("the ledger is unavailable: it is off (FORECAST_LEDGER=false)")
    ledger.available()
    return ledger


LedgerDep = Annotated[LedgerService, Depends(get_ledger)]


async def get_watcher(request: Request) -> ModelWatcher:
    """The watcher that reloads models: the reload route asks it, never the registry directly."""
    watcher: ModelWatcher = request.app.state.watcher
    return watcher


WatcherDep = Annotated[ModelWatcher, Depends(get_watcher)]


async def refuse_while_draining(request: Request) -> None:
    """A dependency of readiness: 503 once a stop was asked for (`app.lifecycle` sets the flag)."""
    if getattr(request.app.state, "draining", False):
        raise ShuttingDown("the server is shutting down; requests in flight are finishing")

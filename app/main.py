"""The FastAPI application: `create_app(settings)` builds it, `app` is what uvicorn serves.

Building the app reads no settings and loads no model: both happen in the
lifespan, when the server starts, so importing this module stays cheap and
side-effect free (`uvicorn app.main:app`, tests, and tools that only want the
OpenAPI schema).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from app.dataplane import DataPlane
from app.http.auth import document_open_access, load_api_keys
from app.http.exception_handlers import install_error_handlers
from app.http.middleware.access_log import AccessLogMiddleware
from app.http.middleware.body_size import BodySizeLimitMiddleware
from app.http.middleware.load_shedding import LoadSheddingMiddleware
from app.http.routes import bench, docs, health, metrics, models, predict, reload
from app.lifecycle import operating
from app.logs import configure_logging
from app.registry import Registry, version_loader
from app.settings import Settings, get_settings
from app.ui.routes import install_ui
from app.v2 import routes as v2
from app.watcher import ModelWatcher

log = logging.getLogger(__name__)

ROUTERS = (predict.router, health.router, metrics.router, models.router, reload.router, v2.router)
"""Every router the app always serves; the benchmark's is added only when its setting is on."""

DESCRIPTION = """Forecasts of a monthly series from an LSTM trained offline, served without
TensorFlow: the network's forward pass runs in NumPy from the weights in `model.keras`.
Every number is in the series' own units. Errors are JSON:
`{"error": "...", "type": "...", "errors": [{"field": "...", "message": "..."}]}`."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service; `settings` default to the environment (`FORECAST_*`), read at startup."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resolved = settings or get_settings()
        configure_logging(resolved.log_level)  # first: every startup line is JSON
        app.state.api_keys = load_api_keys(resolved)  # a broken key file stops the start
        registry = Registry(resolved.model_dir, version_loader(resolved.extrapolation_margin))
        watcher = ModelWatcher(registry, resolved.poll_seconds, resolved.load_wait_seconds)
        await run_in_threadpool(watcher.load_all)
        app.state.settings, app.state.registry = resolved, registry
        app.state.plane = DataPlane(registry, resolved)
        if resolved.enable_bench_routes and bench.router.routes[0] not in app.router.routes:
            app.include_router(bench.router)  # before the first request; absent otherwise
        if resolved.ui:
            install_ui(app)  # the page at /; absent (404) when FORECAST_UI=false
        app.state.watcher = watcher
        _log_start(registry, resolved)
        async with operating(
            app, watcher, resolved.worker_threads
        ):  # polling, and /ready 503 once SIGTERM arrives
            yield

    app = FastAPI(
        title="LSTM forecast service",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=lambda: app.state.settings.max_body_bytes)
    # Added after the body limit, so around it: it times and logs every answer, 413s too.
    app.add_middleware(AccessLogMiddleware, log_payloads=lambda: app.state.settings.log_payloads)
    # Outermost: refusing excess load must cost nothing, not even an access-log line.
    app.add_middleware(
        LoadSheddingMiddleware,
        limit=lambda: app.state.settings.max_in_flight,
        max_body_bytes=lambda: app.state.settings.max_body_bytes,
    )
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    docs.install_docs(app)
    document_open_access(app)
    return app


def _log_start(registry: Registry, settings: Settings) -> None:
    """What the start-up left unserved; the registry has already logged each version it loaded."""
    for state in registry.states():
        if state.served is None:
            log.error("model %s is not served: %s", state.name, state.reason)
    if not any(s.name == settings.default_model and s.ready for s in registry.states()):
        log.error("default model %r is not served; /ready answers 503", settings.default_model)


app = create_app()

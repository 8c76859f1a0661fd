"""The FastAPI application: `create_app(settings)` builds it around one `Settings`.

Settings reach code one way: `create_app` resolves them once (the caller's, or
the environment's `FORECAST_*`) and passes them in to everything it builds: the
middlewares get their plain values, the data plane and the watcher the object,
and route handlers the same object through the one dependency `SettingsDep`.
Models load in the lifespan, when the server starts.

`app` is what `uvicorn app.main:app` serves. It is built on first access, not at
import, so importing this module reads no settings and loads nothing: tests
build their own apps with `create_app(Settings(...))`, and every worker of a
multi-worker server builds its own from the environment.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.concurrency import run_in_threadpool

from app.dataplane import DataPlane
from app.engine import layers
from app.http.auth import document_open_access, load_api_keys
from app.http.exception_handlers import install_error_handlers
from app.http.fast_lane import FastLane
from app.http.middleware.access_log import AccessLogMiddleware
from app.http.middleware.body_limits import BodyLimitsMiddleware
from app.http.middleware.load_shedding import LoadSheddingMiddleware
from app.http.routes import docs, health, metrics
from app.ledger.service import LedgerService
from app.ledger.store import sqlite_url
from app.lifecycle import operating
from app.logs import configure_logging
from app.metrics import record_engine
from app.registry import Registry, version_loader
from app.settings import Settings, get_settings
from app.timeseries import routes as timeseries
from app.ui.routes import install_ui
from app.v1 import accuracy, bench, models, observations, predict, reload, series
from app.v2 import routes as v2
from app.watcher import ModelWatcher

log = logging.getLogger(__name__)

ROUTERS = (
    predict.router,
    health.router,
    metrics.router,
    models.router,
    series.router,
    observations.router,
    accuracy.router,
    reload.router,
    v2.router,
    timeseries.router,
)
"""Every router the app always serves; the benchmark's is added only when its setting is on."""

PROBES = frozenset({health.LIVE, health.READY, metrics.SCRAPE, *v2.PROBES})
"""Probe paths, each declared by its router: counted but never timed, shed or logged at INFO."""

NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
"""FastAPI's native OpenTelemetry, off: the service reports through Prometheus and JSON logs,
and installs no OpenTelemetry SDK, so FastAPI's check for a configured provider, made on
every request, could never find one; it cost about 5 us per request (BENCHMARKS.md,
"Measurements behind design choices")."""

DESCRIPTION = """Forecasts of a monthly series from an LSTM trained offline, served without
TensorFlow: the network's forward pass runs in NumPy from the weights in `model.keras`.
Every number is in the series' own units. Errors are JSON:
`{"error": "...", "type": "...", "errors": [{"field": "...", "message": "..."}]}`."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service around `settings` (default: the environment's `FORECAST_*`, read now)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level)  # first: every startup line is JSON
        app.state.api_keys = load_api_keys(settings)  # a broken key file stops the start
        registry = Registry(settings.model_dir, version_loader(settings.extrapolation_margin))
        watcher = ModelWatcher(registry, settings.poll_seconds, settings.load_wait_seconds)
        await run_in_threadpool(watcher.load_all)
        app.state.registry, app.state.watcher = registry, watcher
        ledger = await run_in_threadpool(_open_ledger, settings, registry)
        app.state.ledger = ledger
        app.state.plane = DataPlane(registry, settings, ledger)
        _log_start(registry, settings)
        if ledger is not None:
            ledger.start()
        try:
            with _server_collector():
                async with operating(app, watcher, settings.worker_threads):  # drain on SIGTERM
                    yield
        finally:
            if ledger is not None:
                await run_in_threadpool(ledger.stop)  # what is queued is written first

    app = FastAPI(
        title="LSTM forecast service",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        telemetry=NO_TELEMETRY,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    if settings.enable_bench_routes:
        app.include_router(bench.router)  # absent, not hidden, when off
    if settings.ui:
        install_ui(app)  # the page at /; absent (404) when FORECAST_UI=false
    docs.install_docs(app)
    app.state.settings = settings  # what `SettingsDep` hands route handlers
    if settings.fast_lane:  # innermost: inside the access log, metrics and load shedding
        lanes = predict.fast_routes() + v2.fast_routes() + timeseries.fast_routes()
        lanes += bench.fast_routes() if settings.enable_bench_routes else []
        app.add_middleware(FastLane, fastapi=app, routes=lanes)
    # Each middleware added wraps the ones added before it: the last one added runs first.
    app.add_middleware(AccessLogMiddleware, log_payloads=settings.log_payloads, probes=PROBES)
    # Outside the access log: refusing excess load must cost nothing, not even a log line.
    app.add_middleware(LoadSheddingMiddleware, limit=settings.max_in_flight, probes=PROBES)
    # Outermost: a body too large or too slow is refused before anything reads it, auth included.
    app.add_middleware(
        BodyLimitsMiddleware,
        max_bytes=settings.max_body_bytes,
        timeout=settings.body_timeout_seconds,
    )
    document_open_access(app)
    return app


@contextmanager
def _server_collector() -> Iterator[None]:
    """Garbage collection for a server whose requests allocate thousands of short-lived objects.

    What startup built lives as long as the app: frozen out of the collector's sight,
    a full collection no longer walks it (18 ms of pause each, which made the p99 at
    concurrency 32). And the youngest generation is collected every 10,000
    allocations instead of 700: about 10 % of a predict's CPU (BENCHMARKS.md,
    "Measurements behind design choices"); what a request leaves in cycles waits a
    little longer to be freed. Both are undone when the app stops, so a process that
    starts many apps (the tests) keeps nothing frozen.
    """
    threshold = gc.get_threshold()
    # No gc.collect() first: startup leaves no cyclic garbage to free (a full collection
    # right after it finds none), and in a process of millions of objects, a test
    # session's, one costs a fifth of a second per app started.
    gc.freeze()
    gc.set_threshold(10_000, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _open_ledger(settings: Settings, registry: Registry) -> LedgerService | None:
    """The ledger, migrated; None when it is off.

    A database that cannot be reached leaves the service forecasting and the ledger
    degraded (its endpoints answer 503 with the reason, `/ready` says so) until it
    reconnects; a migration that fails on a database that can be reached stops the start
    (`LedgerUnavailable`, one line), since serving on a schema the code does not expect
    would lose data.
    """
    if not settings.ledger:
        return None
    url = settings.database_url.get_secret_value() or sqlite_url(settings.data_dir)
    ledger = LedgerService(url, registry, queue_limit=settings.ledger_queue)
    ledger.open()
    return ledger


def _log_start(registry: Registry, settings: Settings) -> None:
    """Which engine runs the networks, and what the start-up left unserved (the registry has
    already logged each version it loaded)."""
    record_engine(layers.KERNEL is not None)
    if layers.KERNEL is None:
        log.warning("LSTM layers run on the NumPy engine: the compiled kernel is %s", layers.ENGINE)
    else:
        log.info("LSTM layers run on the compiled kernel (%s)", layers.KERNEL.path.name)
    for state in registry.states():
        if state.served is None:
            log.error("model %s is not served: %s", state.name, state.reason)
    if not any(s.name == settings.default_model and s.ready for s in registry.states()):
        log.error("default model %r is not served; /ready answers 503", settings.default_model)


def __getattr__(name: str) -> FastAPI:
    """`app.main.app`: the environment's app, built when first asked for (PEP 562)."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    built = globals()["app"] = create_app()
    return built

"""Prometheus metrics, defined once per process, summed over workers when there are several.

The metrics are module-level because prometheus-client registers a name once per
process: apps built by tests, and every request, share them (tests compare
values before and after). Labels are bounded by design: routes are templates
(`/v1/models/{name}/predict`, never the path), methods outside the usual few
are `other`, models are directories the operator created, and load failures
are counted by kind of reason, not by message.

Several uvicorn workers: when `PROMETHEUS_MULTIPROC_DIR` is set before this
module is imported (`python -m app` does it when `WEB_CONCURRENCY` > 1), every
value lives in a per-process file in that directory and `/metrics` adds them up
across the workers, whichever worker answers the scrape. Process metrics
(`process_*`) are then read from `/proc` (Linux) for every worker and labelled by
`pid`, since one worker cannot report another's memory through its own collectors;
Python's GC and platform collectors are per process and left out in that mode.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from app.engine.errors import ModelFormatError
from app.errors import ArtifactError
from app.forecaster import ForecasterError

UNMATCHED = "<unmatched>"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A forecast takes from ~0.2 ms (one series) to seconds (large batches, long horizons).
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

REQUESTS = Counter(
    "forecast_http_requests", "HTTP requests answered.", ["route", "method", "status"]
)
LATENCY = Histogram(
    "forecast_http_request_duration_seconds",
    "Time from request to the end of the response; probes and /metrics excluded.",
    ["route", "method"],
    buckets=BUCKETS,
)
IN_PROGRESS = Gauge(
    "forecast_http_requests_in_progress",
    "Requests being answered now; probes and /metrics excluded.",
    multiprocess_mode="livesum",
)
SHED = Counter(
    "forecast_http_requests_shed",
    "Requests refused with 503 before being read, because the worker had"
    " FORECAST_MAX_IN_FLIGHT requests in flight (load shedding).",
)
FORECASTS = Counter(
    "forecast_forecasts",
    "Series forecast (one per series: a predict is 1, a batch or V2 infer of n rows is n).",
    ["model", "version"],
)
FORECAST_VALUES = Counter(
    "forecast_forecast_values", "Forecast values returned (series x horizon).", ["model", "version"]
)
COALESCED = Histogram(
    "forecast_coalesced_requests",
    "One-series forecasts answered by each pass of the coalescer: requests for the same"
    " model, horizon and levels that arrived while the pass waited for them.",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
LOAD_FAILURES = Counter(
    "forecast_model_load_failures",
    "Model versions refused at load or reload, by kind: verification (manifest, hashes,"
    " scaler), network (model.keras), check (network vs manifest, warm-up), io, other.",
    ["model", "reason"],
)
SERVED_VERSION = Gauge(
    "forecast_model_served_version",
    "Version each model is served at; 0 when none is. With several workers, the lowest any"
    " live worker serves, so a rollout is complete once it shows the new number.",
    ["model"],
    multiprocess_mode="livemin",
)
ENGINE_COMPILED = Gauge(
    "forecast_engine_compiled",
    "1 while LSTM layers run on the compiled kernel (app/engine/kernel.c), 0 on the slower"
    " NumPy engine (no kernel built, or it failed its check; the start-up log says why)."
    " With several workers, the lowest of any live worker.",
    multiprocess_mode="livemin",
)
LEDGER_UP = Gauge(
    "forecast_ledger_up",
    "1 while the ledger's database is reachable, 0 while the ledger is degraded (forecasts"
    " still answer). With several workers, the lowest of any live worker.",
    multiprocess_mode="livemin",
)
LEDGER_RECORDED = Counter(
    "forecast_ledger_forecasts_recorded", "Forecast values (series x step) written to the ledger."
)
LEDGER_DROPPED = Counter(
    "forecast_ledger_forecasts_dropped",
    "Forecast values served but not recorded in the ledger: its queue was full (queue_full)"
    " or its database refused them and the queue had no room to keep them (database).",
    ["reason"],
)
LIVE_SCORED = Gauge(
    "forecast_live_scored",
    "One-step forecasts whose actual has arrived, per model and version.",
    ["model", "version"],
    multiprocess_mode="mostrecent",
)
LIVE_RMSE = Gauge(
    "forecast_live_rmse",
    "Live one-step RMSE against posted actuals, in series units, per model and version.",
    ["model", "version"],
    multiprocess_mode="mostrecent",
)
LIVE_MASE = Gauge(
    "forecast_live_mase",
    "Live one-step MASE (each error over its series' training seasonal-naive MAE).",
    ["model", "version"],
    multiprocess_mode="mostrecent",
)
LIVE_COVERAGE = Gauge(
    "forecast_live_coverage",
    "Live one-step share of actuals inside their interval (0 to 1), per level.",
    ["model", "version", "level"],
    multiprocess_mode="mostrecent",
)


def record_request(
    route: str, method: str, status: int, seconds: float, probe: bool = False
) -> None:
    """Count one answered request; time it unless it is a probe or a scrape."""
    method = method if method in METHODS else "other"
    count, latency = _request_series(route, method, status, timed=not probe)
    count.inc()
    if latency is not None:
        latency.observe(seconds)


@functools.cache
def _request_series(
    route: str, method: str, status: int, timed: bool
) -> tuple[Counter, Histogram | None]:
    """The labelled counter and histogram of one route, method and status, looked up once:
    `labels()` checks and locks on every call (a few us a request). Bounded: routes are
    templates, methods `METHODS` or "other", statuses three digits."""
    latency = LATENCY.labels(route, method) if timed else None
    return REQUESTS.labels(route, method, str(status)), latency


@contextmanager
def in_flight(probe: bool) -> Iterator[None]:
    """Count a request in `IN_PROGRESS` while it runs, unless it is a probe or a scrape."""
    if probe:
        yield
        return
    IN_PROGRESS.inc()
    try:
        yield
    finally:
        IN_PROGRESS.dec()


def record_forecasts(model: str, version: int, series: int, horizon: int) -> None:
    forecasts, values = _forecast_series(model, version)
    forecasts.inc(series)
    values.inc(series * horizon)


@functools.cache
def _forecast_series(model: str, version: int) -> tuple[Counter, Counter]:
    """A version's two labelled counters, looked up once (as `_request_series`). Bounded by
    the versions the process has served."""
    return FORECASTS.labels(model, str(version)), FORECAST_VALUES.labels(model, str(version))


def record_coalesced(requests: int) -> None:
    COALESCED.observe(requests)


def record_load_failure(model: str, exc: BaseException) -> None:
    LOAD_FAILURES.labels(model, failure_kind(exc)).inc()


def record_engine(compiled: bool) -> None:
    ENGINE_COMPILED.set(int(compiled))


def record_served(model: str, version: int | None) -> None:
    SERVED_VERSION.labels(model).set(version or 0)


def failure_kind(exc: BaseException) -> str:
    """A bounded label for why a version was refused; the message itself goes to the log."""
    kinds = (  # the kinds of ArtifactError before ArtifactError itself
        (ModelFormatError, "network"),
        (ForecasterError, "check"),
        (ArtifactError, "verification"),
        (OSError, "io"),
    )
    return next((kind for cls, kind in kinds if isinstance(exc, cls)), "other")


def multiprocess() -> bool:
    """Whether values live in per-worker files (prometheus-client reads the same variable)."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def exposition(accept: str | None) -> tuple[bytes, str]:
    """The metrics in the format the scraper asked for (Prometheus text or OpenMetrics)."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(_registry()), content_type


def worker_exiting() -> None:
    """Drop this process's `live*` gauges, so a stopped worker no longer counts as serving."""
    if multiprocess():
        mark_process_dead(os.getpid())


def _registry() -> CollectorRegistry:
    if not multiprocess():
        return REGISTRY  # includes the default process, platform and GC collectors
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path)
    registry.register(WorkerProcesses(path))
    return registry


class WorkerProcesses(Collector):
    """`process_*` metrics of every worker that writes to the multiprocess directory, by `pid`."""

    def __init__(self, path: str) -> None:
        self.path = path

    def collect(self) -> Iterable[Metric]:
        merged: dict[str, Metric] = {}
        pid = 0
        reader = ProcessCollector(pid=lambda: pid, registry=None)
        for pid in _worker_pids(self.path):  # exited workers have no /proc entry: skipped
            for family in reader.collect():
                into = merged.setdefault(
                    family.name, Metric(family.name, family.documentation, family.type)
                )
                for sample in family.samples:
                    into.add_sample(sample.name, {**sample.labels, "pid": str(pid)}, sample.value)
        return list(merged.values())


def _worker_pids(path: str) -> list[int]:
    found = (re.search(r"_(\d+)\.db$", name) for name in os.listdir(path))
    return sorted({int(match.group(1)) for match in found if match})

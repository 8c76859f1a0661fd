"""`python -m app`: run the service under uvicorn the way it is meant to run in production.

What it adds to `uvicorn app.main:app`:

- host, port, log level and the graceful-shutdown deadline come from the
  `FORECAST_*` settings, the worker count from `WEB_CONCURRENCY` (as uvicorn reads it);
- asyncio's own event loop, not uvloop: libuv accepts one connection per loop pass
  (libuv#3696), so under overload a probe's new connection waited one busy pass for
  every connection ahead of it, over a second after a burst of 256 connects
  (`tests/reliability/test_saturation.py`); asyncio accepts every pending connection
  at once, and served as fast here (BENCHMARKS.md, "Past saturation");
- JSON logs for uvicorn's own lines too, and no uvicorn access log (the app
  writes one JSON line per request, with the route template, model and request id);
- exit status 0 after a clean stop on SIGTERM or SIGINT. uvicorn re-raises the
  signal once it has shut down, so a plain `uvicorn` process dies of SIGTERM (143)
  even when every request was answered; orchestrators and `docker stop` then see
  a failure. A handler installed before uvicorn's absorbs that re-raise (and, if a
  signal arrives before uvicorn took over, asks the server to stop as soon as it can);
- with several workers, prometheus-client's multiprocess mode: a fresh
  `PROMETHEUS_MULTIPROC_DIR` (a new temporary directory, removed at exit, unless one
  is given; a given one is emptied of old `.db` files) is set before any worker
  imports prometheus-client, so `/metrics` adds up every worker's values.

Nothing here imports the app: the supervisor of several workers stays small, and
each worker imports `app.main:app` itself.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from app.logs import log_config
from app.settings import Settings, get_settings

APP = "app.main:app"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def main() -> int:
    """Serve until stopped; 0 after a clean stop, 3 when the app or a worker fails to start."""
    settings = get_settings()
    workers = _workers()
    with _metrics_dir(workers):
        config = build_config(settings, workers)
        return _run_supervised(config) if workers > 1 else _run_single(config)


def build_config(settings: Settings, workers: int) -> uvicorn.Config:
    return uvicorn.Config(
        APP,
        host=settings.host,
        port=settings.port,
        workers=workers,
        loop="asyncio",  # accepts a burst of connections in one pass: see the module docstring
        timeout_graceful_shutdown=settings.shutdown_seconds,
        timeout_keep_alive=settings.keep_alive_seconds,
        access_log=False,
        log_config=log_config(settings.log_level),
        log_level=settings.log_level,
        server_header=False,
    )


def _run_single(config: uvicorn.Config) -> int:
    server = uvicorn.Server(config)

    def stop_cleanly(sig: int, frame: FrameType | None) -> None:
        server.should_exit = True  # before uvicorn's handler: stop; after it: the re-raise

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop_cleanly)
    server.run()  # exits with STARTUP_FAILURE itself when the app cannot start
    _exit_if_threads_linger()
    return 0


def _exit_if_threads_linger(grace: float = 0.2) -> None:
    """Exit now if a forecast cancelled at the shutdown deadline still runs in a pool thread.

    uvicorn cancels the request's task, but not the thread computing it, and the
    interpreter would wait for that thread at exit, past FORECAST_SHUTDOWN_SECONDS.
    """
    deadline = time.monotonic() + grace
    me = threading.current_thread()
    others = [t for t in threading.enumerate() if t is not me and not t.daemon]
    for thread in others:  # idle pool threads end at once; busy ones do not
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in others):
        logging.shutdown()  # flush the log lines written so far
        sys.stdout.flush()
        os._exit(0)


def _run_supervised(config: uvicorn.Config) -> int:
    """uvicorn's supervisor: SIGTERM stops every worker gracefully, then it returns."""
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    failed = any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes)
    return STARTUP_FAILURE if failed else 0


def _workers() -> int:
    raw = os.environ.get("WEB_CONCURRENCY", "1")
    if not raw.isdigit() or int(raw) < 1:
        sys.exit(f"WEB_CONCURRENCY must be a positive whole number, got {raw!r}")
    return int(raw)


@contextmanager
def _metrics_dir(workers: int) -> Iterator[None]:
    """Multiprocess metrics for several workers: a clean directory, named before they start."""
    given = os.environ.get(MULTIPROC_ENV)
    if workers == 1 and not given:
        yield
        return
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in Path(given).glob("*.db"):  # values of a previous run would add up
            stale.unlink()
        yield
        return
    path = tempfile.mkdtemp(prefix="forecast-metrics-")
    os.environ[MULTIPROC_ENV] = path
    try:
        yield
    finally:
        shutil.rmtree(path, ignore_errors=True)

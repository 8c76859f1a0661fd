"""The running app's lifecycle beyond loading: reload polling, and draining on SIGTERM.

Readiness must say 503 from the moment a stop is asked for, so load balancers
stop sending work while the requests in flight finish. The flag is set by a
signal handler the lifespan chains in front of the server's own: uvicorn
installs its handler (with `signal.signal`, in the main thread) before it runs
the lifespan, so wrapping it here sees every SIGTERM and SIGINT first, whether
the app runs under `python -m app`, under `uvicorn app.main:app`, or in one of
several workers (uvicorn's supervisor builds plain `uvicorn.Server`s in the
workers, so a `Server` subclass would not reach them). Outside the main thread
(the in-process test client) nothing is chained; tests set the flag directly.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import FrameType

from anyio import to_thread
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from app import metrics
from app.watcher import ModelWatcher

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@asynccontextmanager
async def operating(app: FastAPI, watcher: ModelWatcher, threads: int) -> AsyncIterator[None]:
    """While the app serves: poll for model changes, flag draining on a stop signal, and run
    blocking endpoints on at most `threads` threads (see `Settings.worker_threads`)."""
    to_thread.current_default_thread_limiter().total_tokens = threads
    app.state.draining = False
    restore = drain_on_signals(app)
    watcher.start()
    try:
        yield
    finally:
        app.state.draining = True
        await run_in_threadpool(watcher.stop)
        restore()
        metrics.worker_exiting()


def drain_on_signals(app: FastAPI) -> Callable[[], None]:
    """Chain a handler that sets `app.state.draining` before the server's; returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    installed: dict[int, tuple[Callable[[int, FrameType | None], None], object]] = {}
    for sig in STOP_SIGNALS:
        previous = signal.getsignal(sig)
        if not callable(previous):  # no Python handler to chain to: leave the default alone
            continue

        def handler(
            signum: int, frame: FrameType | None, then: Callable[..., object] = previous
        ) -> None:
            app.state.draining = True  # no logging here: it could interleave a half-written line
            then(signum, frame)

        signal.signal(sig, handler)
        installed[sig] = (handler, previous)

    def restore() -> None:
        for sig, (handler, previous) in installed.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, previous)  # type: ignore[arg-type]

    return restore

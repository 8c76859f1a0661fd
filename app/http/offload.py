"""Where an endpoint's work runs: inline on the event loop when it is tiny, else in a thread.

A plain `def` endpoint always pays FastAPI's thread-pool hop: measured here at
~185 us of CPU per request, more than a one-step forecast itself (~100 us).
Forecasting a handful of steps is cheaper to do right on the event loop; a
large batch or a long horizon would stall it (and the probes it answers), so
it still goes to the pool (`Settings.worker_threads` threads).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from starlette.concurrency import run_in_threadpool

INLINE_STEPS = 8
"""Most forecast steps (series x horizon) computed on the event loop: about a millisecond."""

P = ParamSpec("P")
T = TypeVar("T")


async def run_sized(steps: int, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`work(*args, **kwargs)`, inline when `steps` is small, else in the thread pool."""
    if steps <= INLINE_STEPS:
        return work(*args, **kwargs)
    return await run_in_threadpool(work, *args, **kwargs)

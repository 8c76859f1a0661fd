"""Where an endpoint's work runs: inline on the event loop when it is tiny, else in a thread.

A plain `def` endpoint always pays FastAPI's thread-pool hop, which costs more CPU
than a one-step forecast itself (BENCHMARKS.md, "Measurements behind design choices").
Forecasting a handful of steps is cheaper to do right on the event loop; anything
bigger would stall the loop (and the probes it answers), so it goes to the pool
(`Settings.worker_threads` threads). Size is the request's `app.budget.Work`, the
same estimate the data plane's limit uses: values, series, steps, ensemble members
and interval levels all count, so no request above `INLINE_WORK` runs on the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from starlette.concurrency import run_in_threadpool

from app.budget import Work

INLINE_WORK = 1_000
"""Most units of work done on the event loop: about 1.5 ms. One series of 36 values forecast
8 steps ahead by a five-member ensemble with two interval levels is 908 (1.3 ms measured);
ten levels make it 1,036, a ninth step 1,017: the pool."""

P = ParamSpec("P")
T = TypeVar("T")


async def run_sized(work: Work, job: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`job(*args, **kwargs)`, inline when `work` is small, else in the thread pool."""
    if work.units <= INLINE_WORK:
        return job(*args, **kwargs)
    return await run_in_threadpool(job, *args, **kwargs)

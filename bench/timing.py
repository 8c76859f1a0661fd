"""Timing of Python callables: calibrated repeats, interleaved so compared calls share the noise.

On a shared machine the load changes from second to second. Timing method A
fully and then method B would compare A's quiet minute with B's busy one; here
every round times one repeat of each method in turn, and each method's figure is
the median over the rounds.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

Call = Callable[[], Any]


def calibrate(fn: Call, budget_s: float = 0.2, max_loops: int = 100_000) -> int:
    """Calls per repeat so that a repeat lasts about `budget_s`, after one warm-up call."""
    fn()  # warm-up: caches, lazy initialisation, graph tracing
    started = time.perf_counter()
    fn()
    once = max(time.perf_counter() - started, 1e-9)
    return max(1, min(max_loops, int(budget_s / once)))


def sample(fn: Call, loops: int, context: AbstractContextManager[Any] | None = None) -> float:
    """Mean seconds per call over `loops` calls (inside `context`, if given)."""
    with context or nullcontext():
        started = time.perf_counter()
        for _ in range(loops):
            fn()
        return (time.perf_counter() - started) / loops


def interleaved(
    calls: Mapping[str, Call],
    repeats: int,
    contexts: Mapping[str, Callable[[], AbstractContextManager[Any]]] | None = None,
    budget_s: float = 0.2,
) -> dict[str, float]:
    """Median seconds per call of each callable, repeats taken round-robin."""
    contexts = contexts or {}
    loops = {}
    for name, fn in calls.items():
        with contexts.get(name, nullcontext)():
            loops[name] = calibrate(fn, budget_s)
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, fn in calls.items():
            context = contexts[name]() if name in contexts else None
            samples[name].append(sample(fn, loops[name], context))
    return {name: statistics.median(values) for name, values in samples.items()}

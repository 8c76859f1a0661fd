"""Concurrent one-series forecasts computed together: dynamic batching, without a delay.

A forecast of one series is mostly fixed cost: a few hundred NumPy calls on arrays
of a few dozen numbers, whatever the batch (BENCHMARKS.md, "A forecast in process":
one series about 190 us, eight about 285 us). Under load, requests for the same
model, horizon and levels are read in the same turn of the event loop; `Coalescer`
forecasts them in one pass in the turn right after and gives each its own row.
It waits for no timer, so a request alone is answered as soon as before, and the
answers are the ones each request gets alone (`DataPlane.predict_each`: every row
is checked, refused or warned about on its own), to the float32 rounding by which
BLAS results depend on the number of rows (a few 1e-8 of the network's output).
Triton's and TF Serving's dynamic batchers do the same with a configurable delay;
here the delay is zero and the batch is whatever arrived.

A pass is bounded like any request's work: at most `PASS_WORK` units (`app.budget`)
run in one pass on the event loop, the rest in the next.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app import metrics
from app.budget import Work
from app.errors import InvalidInput

if TYPE_CHECKING:  # the data plane owns a coalescer: no import cycle at run time
    from app.dataplane import Forecasts, Levels, Values

PASS_WORK = 8_000
"""Most units one pass forecasts on the event loop: what eight requests of the largest
inline size (`app.http.offload.INLINE_WORK`) cost alone; together they cost less."""

Key = tuple[str, int, tuple[float, ...] | None]  # model, horizon, levels (None: the defaults)
PredictEach = Callable[[str, Sequence[Any], int, Any], list[Any]]
"""`DataPlane.predict_each`: (model, series, horizon, levels) -> an answer or refusal per series."""


@dataclass
class _Waiting:
    values: Values
    work: Work
    answer: asyncio.Future[Forecasts] = field(repr=False)


class Coalescer:
    """Collects one-series forecasts for a turn of the event loop, then answers them in passes."""

    def __init__(self, predict_each: PredictEach) -> None:
        self._predict_each = predict_each
        self._waiting: dict[Key, list[_Waiting]] = {}

    async def predict(
        self, name: str, values: Values, horizon: int, levels: Levels | None, work: Work
    ) -> Forecasts:
        """The forecast of `values`, as `DataPlane.predict` answers it, computed with the
        others that arrive in this turn; its refusal is raised here, for this request only."""
        loop = asyncio.get_running_loop()
        if not self._waiting:
            # A fresh context: the pass must not run as the first request's (its request id).
            loop.call_soon(self._answer_all, context=contextvars.Context())
        key = (name, horizon, None if levels is None else tuple(levels))
        waiting = _Waiting(values, work, loop.create_future())
        self._waiting.setdefault(key, []).append(waiting)
        return await waiting.answer

    def _answer_all(self) -> None:
        groups, self._waiting = self._waiting, {}
        for key, group in groups.items():
            for chunk in _passes(group):
                self._answer(key, chunk)

    def _answer(self, key: Key, chunk: list[_Waiting]) -> None:
        name, horizon, levels = key
        metrics.record_coalesced(len(chunk))
        try:
            answers = self._predict_each(name, [w.values for w in chunk], horizon, levels)
        except Exception as exc:  # one refusal for all (no such model, levels it cannot serve)
            for waiting in chunk:
                if not waiting.answer.done():
                    waiting.answer.set_exception(exc)
            return
        for waiting, answer in zip(chunk, answers, strict=True):
            if waiting.answer.done():  # its client went away
                continue
            if isinstance(answer, InvalidInput):
                waiting.answer.set_exception(answer)
            else:
                waiting.answer.set_result(answer)


def _passes(group: list[_Waiting]) -> list[list[_Waiting]]:
    """The group in order, cut into passes of at most `PASS_WORK` units (at least one each)."""
    passes: list[list[_Waiting]] = [[]]
    units = 0
    for waiting in group:
        if passes[-1] and units + waiting.work.units > PASS_WORK:
            passes.append([])
            units = 0
        passes[-1].append(waiting)
        units += waiting.work.units
    return passes

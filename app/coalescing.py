"""Concurrent one-series forecasts computed together: dynamic batching, without a timer.

Every protocol's forecast of one posted series comes here when small enough for the event
loop (`app.http.offload.INLINE_WORK`): `/v1/predict` with posted values (and a start, or
not), the V2 `infer` of one row, and KServe's time-series forecast of one input.

A forecast of one series is mostly fixed cost: a few hundred NumPy calls on arrays
of a few dozen numbers, whatever the batch (BENCHMARKS.md, "A forecast in process":
one series about 190 us, eight about 285 us). `Coalescer` forecasts requests for
the same model, horizon and levels in one pass and gives each its own row.

The pass runs in the turn of the event loop after the first request arrives, unless
more arrived since it was planned: then it waits one more turn, while they keep
coming, for at most `MAX_TURNS` turns or until it holds a pass's work. Under load,
requests are read a few per turn (their bodies come in while the last answers go
out), so answering the first turn's alone made passes of two on average at
concurrency 8; waiting while they join makes passes of seven. A request alone is
answered in the turn after it arrives, as without batching, and waiting never
depends on a clock. The answers are the ones each request gets alone
(`DataPlane.predict_each`: every row is checked, refused or warned about on its
own), to the float32 rounding by which BLAS results depend on the number of rows
(a few 1e-8 of the network's output). Triton's and TF Serving's dynamic batchers
do the same with a configurable delay.

A pass is bounded like any request's work: at most `PASS_WORK` units (`app.budget`)
run in one pass on the event loop, the rest in the next.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app import metrics
from app.answers import Forecasts, Levels, Naming, Values
from app.budget import Work
from app.errors import InvalidInput

PASS_WORK = 8_000
"""Most units one pass forecasts on the event loop: what eight requests of the largest
inline size (`app.http.offload.INLINE_WORK`) cost alone; together they cost less."""

MAX_TURNS = 8
"""Most turns of the event loop a pass waits for requests still joining it (see the module)."""

Key = tuple[str, int, tuple[float, ...] | None, "Naming"]
"""Model, horizon, levels (None: the defaults) and the names errors give the series."""
PredictEach = Callable[[str, Sequence[Any], int, Any, Any, Sequence[str | None]], list[Any]]
"""`DataPlane.predict_each`: (model, series, horizon, levels, naming, starts) -> an answer or
refusal per series."""


@dataclass
class _Waiting:
    values: Values
    start: str | None
    work: Work
    answer: asyncio.Future[Forecasts] = field(repr=False)


class Coalescer:
    """Collects one-series forecasts while they arrive, then answers them in passes."""

    def __init__(self, predict_each: PredictEach) -> None:
        self._predict_each = predict_each
        self._waiting: dict[Key, list[_Waiting]] = {}
        self._count = 0  # requests waiting
        self._units = 0  # their work

    async def predict(
        self,
        name: str,
        values: Values,
        horizon: int,
        levels: Levels | None,
        work: Work,
        naming: Naming,
        start: str | None = None,
    ) -> Forecasts:
        """The forecast of `values` (from period `start`, if known), as the request would get
        it alone, computed with the others that arrive meanwhile; its refusal is raised here,
        for this request only. Errors and warnings name the series as `naming` says, in the
        request's protocol's terms."""
        loop = asyncio.get_running_loop()
        if not self._waiting:
            self._later(loop, seen=1, turns=0)
        key = (name, horizon, None if levels is None else tuple(levels), naming)
        waiting = _Waiting(values, start, work, loop.create_future())
        self._waiting.setdefault(key, []).append(waiting)
        self._count += 1
        self._units += work.units
        return await waiting.answer

    def _later(self, loop: asyncio.AbstractEventLoop, seen: int, turns: int) -> None:
        # A fresh context: the pass must not run as the first request's (its request id).
        loop.call_soon(self._answer_all, seen, turns, context=contextvars.Context())

    def _answer_all(self, seen: int, turns: int) -> None:
        """Answer what is waiting, or wait one more turn while requests are still joining."""
        joining = self._count > seen
        if joining and turns < MAX_TURNS and self._units < PASS_WORK:
            self._later(asyncio.get_running_loop(), seen=self._count, turns=turns + 1)
            return
        groups, self._waiting = self._waiting, {}
        self._count = self._units = 0
        for key, group in groups.items():
            for chunk in _passes(group):
                self._answer(key, chunk)

    def _answer(self, key: Key, chunk: list[_Waiting]) -> None:
        name, horizon, levels, naming = key
        metrics.record_coalesced(len(chunk))
        series, starts = [w.values for w in chunk], [w.start for w in chunk]
        try:
            answers = self._predict_each(name, series, horizon, levels, naming, starts)
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

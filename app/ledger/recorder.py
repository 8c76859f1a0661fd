"""The forecasts served, queued off the request path and written to the ledger in batches.

A request that forecast known series hands its answer over here (`add`: one append, no
I/O) and returns; the ledger's background pass takes what is queued every second and
writes it in one transaction. The queue is bounded in forecast values: when the database
is slow or down and the queue is full, what does not fit is dropped, counted in
`forecast_ledger_dropped` and logged, never silently lost. A `kill -9` loses what is
queued: at most one flush interval of forecasts, and never more than the bound.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from app.contract.series import SeriesTable
from app.forecaster import Band
from app.ledger.tables import LEVELS


@dataclass(frozen=True)
class Served:
    """One answer's forecasts of known series, as the request left them."""

    model: str
    version: int
    table: SeriesTable
    rows: np.ndarray  # the version's row of each forecast series (-1: one it never saw)
    ids: Sequence[str | None]
    origins: Sequence[str | None]  # the period of each series' last value
    periods: Sequence[Sequence[str]]  # each series' forecast periods
    values: np.ndarray  # (series, horizon)
    bands: Sequence[Band]
    request_id: str | None
    served_at: datetime

    @property
    def size(self) -> int:
        return int(self.values.size)


class Recorder:
    """A bounded queue of `Served` answers, counted in forecast values."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._queue: deque[Served] = deque()
        self._queued = 0
        self._lock = threading.Lock()

    def add(self, served: Served) -> bool:
        """Queue an answer; False (nothing queued) when it would not fit in the bound."""
        with self._lock:
            if self._queued + served.size > self.limit:
                return False
            self._queue.append(served)
            self._queued += served.size
            return True

    def take(self) -> list[Served]:
        """Everything queued, oldest first; the queue is left empty."""
        with self._lock:
            taken = list(self._queue)
            self._queue.clear()
            self._queued = 0
            return taken

    def put_back(self, taken: list[Served]) -> int:
        """Requeue answers a failed write took, oldest first, as far as the bound allows.

        Returns how many forecast values did not fit and are dropped.
        """
        with self._lock:
            room = self.limit - self._queued
            kept: list[Served] = []
            for served in taken:
                if served.size > room:
                    break
                kept.append(served)
                room -= served.size
            self._queue.extendleft(reversed(kept))
            self._queued += sum(s.size for s in kept)
            return sum(s.size for s in taken[len(kept) :])

    @property
    def queued(self) -> int:
        return self._queued


def rows_of(taken: Sequence[Served], rng: np.random.Generator) -> list[dict[str, Any]]:
    """The `forecasts` rows of answers: one per known series and step, each with a random key."""
    rows: list[dict[str, Any]] = []
    for served in taken:
        known = [i for i, row in enumerate(served.rows.tolist()) if row >= 0 and served.ids[i]]
        if not known:
            continue
        horizon = served.values.shape[1]
        keys = rng.integers(1, 2**63 - 1, size=(len(known), horizon)).tolist()
        bands = {int(band.level): band for band in served.bands if band.level in LEVELS}
        scales = served.table.mase_scale[served.rows[known]].tolist()
        values = served.values[known].tolist()
        limits = {
            level: (band.lower[known].tolist(), band.upper[known].tolist())
            for level, band in bands.items()
        }
        for k, i in enumerate(known):
            scale = scales[k] if scales[k] == scales[k] else None  # NaN: no scale
            for step in range(horizon):
                row = {
                    "id": keys[k][step],
                    "step": step + 1,
                    "model": served.model,
                    "version": served.version,
                    "series_id": served.ids[i],
                    "origin": served.origins[i],
                    "period": served.periods[i][step],
                    "value": values[k][step],
                    "scale": scale,
                    "request_id": served.request_id,
                    "served_at": served.served_at,
                }
                for level in LEVELS:
                    lower, upper = limits.get(level, (None, None))
                    row[f"lower_{level}"] = None if lower is None else lower[k][step]
                    row[f"upper_{level}"] = None if upper is None else upper[k][step]
                rows.append(row)
    return rows

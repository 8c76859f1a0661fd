"""The forecasts served, queued off the request path and written to the ledger in batches.

A request that forecast known series hands its answer over here (`add`: one append, no
I/O) and returns; the ledger's background pass takes what is queued every second and
writes it in one transaction, each answer packed into one `served` row (`packed`), which
is expanded into one `forecasts` row per value later, in bulk (`unpacked`).

The queue is bounded in forecast values: when the database is slow or down and the queue
is full, what does not fit is dropped, counted in
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

from app.contract.calendar import Frequency, following
from app.contract.series import SeriesTable
from app.forecaster import Band
from app.ledger.tables import LEVELS

MAX_POINTS = 1 << 20  # values per `served` row; the expansion keys them in a 2**24 range


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
    frequency: str

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


def packed(served: Served) -> list[dict[str, Any]]:
    """The `served` rows of an answer: its known series only, at most `MAX_POINTS` values each.

    An answer by ids (every row known, the usual case) is packed with a handful of C-level
    joins and copies; only a mixed answer picks its rows one by one.
    """
    n, horizon = served.values.shape
    if bool((served.rows >= 0).all()) and all(served.ids):
        known = np.arange(n)
        ids: Sequence[Any] = served.ids
        origins: Sequence[Any] = served.origins
    else:
        known = np.flatnonzero((served.rows >= 0) & np.array([bool(i) for i in served.ids]))
        ids = [served.ids[i] for i in known.tolist()]
        origins = [served.origins[i] for i in known.tolist()]
    per_row = max(1, MAX_POINTS // horizon)
    bands = [band for band in served.bands if band.level in LEVELS]
    levels = ",".join(str(int(band.level)) for band in bands)
    scales = served.table.mase_scale[served.rows[known]]
    records = []
    for start in range(0, len(known), per_row):
        rows = known[start : start + per_row]
        part = slice(start, start + per_row)
        records.append(
            {
                "model": served.model,
                "version": served.version,
                "frequency": served.frequency,
                "served_at": served.served_at,
                "request_id": served.request_id,
                "horizon": horizon,
                "series_ids": "\n".join(ids[part]),
                "origins": "\n".join(origins[part]),
                "points": served.values[rows].tobytes(),
                "bands": b"".join(
                    side[rows].tobytes() for band in bands for side in (band.lower, band.upper)
                ),
                "levels": levels,
                "scales": scales[part].tobytes(),
            }
        )
    return records


def unpacked(record: Any, first_key: int) -> list[tuple[Any, ...]]:
    """The `forecasts` rows of one `served` row, in `FORECAST_COLUMNS` order, keyed from
    `first_key` on. Vectorised per column: a row costs about a microsecond."""
    ids = record.series_ids.split("\n")
    origins = record.origins.split("\n")
    horizon, n = record.horizon, len(ids)
    size = n * horizon
    frequency = Frequency(record.frequency)
    ahead: dict[str, list[str]] = {}
    periods: list[str] = []
    for origin in origins:
        if origin not in ahead:
            ahead[origin] = following(origin, frequency, horizon)
        periods += ahead[origin]
    bands = np.frombuffer(record.bands, dtype=np.float64)
    levels = [int(level) for level in record.levels.split(",") if level]
    limits = bands.reshape(len(levels), 2, size) if levels else np.empty((0, 2, size))
    columns: dict[int, list[Any]] = {}
    for level in LEVELS:
        if level in levels:
            lower, upper = limits[levels.index(level)]
            columns[level] = [lower.tolist(), upper.tolist()]
        else:
            columns[level] = [[None] * size, [None] * size]
    scales = np.repeat(np.frombuffer(record.scales, dtype=np.float64), horizon)
    return list(
        zip(
            range(first_key, first_key + size),
            np.tile(np.arange(1, horizon + 1), n).tolist(),
            [record.model] * size,
            [record.version] * size,
            [sid for sid in ids for _ in range(horizon)],
            [origin for origin in origins for _ in range(horizon)],
            periods,
            np.frombuffer(record.points, dtype=np.float64).tolist(),
            columns[80][0],
            columns[80][1],
            columns[95][0],
            columns[95][1],
            [None if s != s else s for s in scales.tolist()],  # NaN: no scale
            [record.request_id] * size,
            [record.served_at] * size,
            strict=True,
        )
    )


FORECAST_COLUMNS = (
    "id",
    "step",
    "model",
    "version",
    "series_id",
    "origin",
    "period",
    "value",
    "lower_80",
    "upper_80",
    "lower_95",
    "upper_95",
    "scale",
    "request_id",
    "served_at",
)

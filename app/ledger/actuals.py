"""The actuals that extend a version's stored histories, held in memory by each worker.

A forecast by id starts from the series' stored history (the version's last
`history_width` values) followed by every actual posted since, period after period:
posting a month's actual then forecasting by id equals posting the whole history as
values. Reading the database on every forecast would cost each request a query, so each
worker keeps the actuals past each series' stored end here: the post that stored them
adds them at once, and actuals another worker stored arrive within a second (the
ledger's background pass reads new `ingests`). Only a contiguous run counts: an actual
after a gap waits for the missing period.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

import numpy as np

from app.contract.calendar import Frequency, following, period_number


class Actuals:
    """model -> series id -> {period label: value}, the actuals a worker has seen."""

    def __init__(self) -> None:
        self._by_model: dict[str, dict[str, dict[str, float]]] = {}
        self._lock = threading.Lock()

    def add(self, model: str, rows: Iterable[tuple[str, str, float]]) -> None:
        """Remember (series, period, value) rows; a newer value for a period replaces the old."""
        with self._lock:
            series = self._by_model.setdefault(model, {})
            for sid, period, value in rows:
                series.setdefault(sid, {})[period] = value

    def prune(self, model: str, ends: Mapping[str, str], frequency: Frequency) -> None:
        """Forget the actuals a version already holds: those up to each series' stored end.

        Called when a new version is served (one trained `--from-store` holds them all), so
        the memory taken is the actuals posted since the served version's data ends.
        """
        with self._lock:
            series = self._by_model.get(model, {})
            for sid in list(series):
                end = ends.get(sid)
                if end is None:
                    continue
                last = period_number(end, frequency)
                kept = {
                    label: value
                    for label, value in series[sid].items()
                    if period_number(label, frequency) > last
                }
                if kept:
                    series[sid] = kept
                else:
                    del series[sid]

    def any_for(self, model: str) -> bool:
        """Whether any actual is known for the model: the fast path of every forecast."""
        return bool(self._by_model.get(model))

    def since(self, model: str, series_id: str, end: str, frequency: Frequency) -> list[float]:
        """The actuals of the periods right after `end`, up to the first period missing."""
        found = self._by_model.get(model, {}).get(series_id)
        if not found:
            return []
        run = []
        for label in following(end, frequency, len(found)):
            value = found.get(label)
            if value is None:
                break
            run.append(value)
        return run


def extended(row: np.ndarray, recent: list[float]) -> np.ndarray:
    """A fixed-width history row (NaN left-padded) moved on by `recent` values."""
    if not recent:
        return row
    width = len(row)
    joined = np.concatenate([row, np.asarray(recent, dtype=np.float64)])
    return joined[-width:]

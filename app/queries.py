"""What a forecast request names, turned into history rows and calendars: ids, values, starts.

A request may name a series the version knows (`series_id`: its stored history is
used), post values (a series the version never saw, or, with a `series_id`, the values
since the stored history ends), and say when the posted values start (`start`). This
module resolves each into the history row the forecaster reads, the version's row of
its series (-1: unknown), and the period of its last value, from which the answer's
forecast periods follow. A known series' stored history is followed by the actuals
posted for it since (`app.ledger.actuals`), when the ledger is on. Refusals are
`InvalidInput` or `SeriesNotFound`, naming the request's field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.contract.calendar import Frequency, following, period_label, period_number, period_step
from app.contract.series import SeriesTable
from app.errors import InvalidInput, SeriesNotFound
from app.forecaster import Forecaster
from app.ledger.actuals import Actuals, extended

Values = Sequence[float] | npt.NDArray[np.float64]


@dataclass(frozen=True)
class SeriesQuery:
    """One series to forecast: a known id, posted values, or both; and where values start."""

    series_id: str | None = None
    values: Values | None = None
    start: str | None = None  # the period of values[0]


@dataclass(frozen=True)
class Resolved:
    """The rows to forecast, whose series they are, and the period of each row's last value."""

    histories: Sequence[Values] | np.ndarray
    series: np.ndarray | None  # the version's row per history (-1: unknown); None: all unknown
    ends: list[str | None]  # None where the calendar is unknown

    def periods(self, frequency: Frequency, horizon: int) -> list[list[str]] | None:
        """Each row's forecast periods (`periods_after`)."""
        return periods_after(self.ends, frequency, horizon)


def periods_after(
    ends: Sequence[str | None], frequency: Frequency, horizon: int
) -> list[list[str]] | None:
    """The `horizon` periods after each row's last (`[]` where it is unknown); None when no
    row's calendar is known.

    Rows ending in the same period share one computation: a catalog's series usually end
    together, so 1,000 ids cost one `following`.
    """
    if all(end is None for end in ends):
        return None
    known = {end: following(end, frequency, horizon) for end in set(ends) if end}
    return [known[end] if end else [] for end in ends]


def values_only(histories: Sequence[Values] | np.ndarray) -> Resolved:
    """Posted values with no id or start: today's requests, resolved without a look-up."""
    return Resolved(histories, None, [None] * len(histories))


def by_ids(
    forecaster: Forecaster, ids: Sequence[str], field: str, actuals: Actuals | None = None
) -> Resolved:
    """Series the version knows, forecast from their stored histories: one gather for all."""
    table = _table(forecaster, field)
    try:
        rows = table.rows(ids)
    except KeyError as exc:
        at = f"{field}[{list(ids).index(exc.args[0])}]" if len(ids) > 1 else field
        raise _unknown(forecaster, at, exc.args[0]) from None
    ends: list[str | None] = [table.columns.last_period[r] for r in rows.tolist()]
    histories = table.histories[rows]  # a copy: rows moved on below leave the table as it is
    if actuals is not None and actuals.any_for(forecaster.name):
        frequency = forecaster.manifest.data.frequency
        for i, (sid, end) in enumerate(zip(ids, ends, strict=True)):
            assert end is not None
            if recent := actuals.since(forecaster.name, sid, end, frequency):
                histories[i] = extended(histories[i], recent)
                ends[i] = _shifted(end, len(recent), frequency, field)
    return Resolved(histories, rows, ends)


def resolve(
    forecaster: Forecaster,
    queries: Sequence[SeriesQuery],
    fields: Sequence[str],
    actuals: Actuals | None = None,
) -> Resolved:
    """Each query's history row, series row and last period (`SeriesQuery`'s rules).

    `fields` name each query in errors (`""` for a request that is one query).
    """
    histories: list[Values] = []
    series = np.full(len(queries), -1, dtype=np.int64)
    ends: list[str | None] = []
    frequency = forecaster.manifest.data.frequency
    for i, (query, prefix) in enumerate(zip(queries, fields, strict=True)):
        field = f"{prefix}." if prefix else ""
        posted = query.values if query.values is not None else ()
        end = None
        if query.series_id is None:
            history: Values = posted
            if query.start is not None:
                end = last_period(query.start, len(posted), frequency, f"{field}start")
        else:
            table = _table(forecaster, f"{field}series_id")
            row = table.index.get(query.series_id)
            if row is None:
                raise _unknown(forecaster, f"{field}series_id", query.series_id)
            stored = table.histories[row]
            end = table.columns.last_period[row]
            sid = query.series_id
            recent = [] if actuals is None else actuals.since(forecaster.name, sid, end, frequency)
            if recent:
                end = _shifted(end, len(recent), frequency, f"{field}series_id")
            known = [stored[~np.isnan(stored)], np.asarray(recent), np.asarray(posted, np.float64)]
            history = np.concatenate(known)
            if query.start is not None:
                _agrees(query.start, end, frequency, f"{field}start", query.series_id)
            end = _shifted(end, len(posted), frequency, f"{field}values")
            series[i] = row
        histories.append(history)
        ends.append(end)
    return Resolved(histories, series, ends)


def last_period(start: str, count: int, frequency: Frequency, field: str) -> str:
    """The period of the last of `count` values posted from `start`; a start that names no
    period of `frequency` is refused at `field`."""
    return _shifted(start, count - 1, frequency, field)


def _table(forecaster: Forecaster, field: str) -> SeriesTable:
    if forecaster.series is None:
        raise InvalidInput.at(
            field,
            f"model {forecaster.name!r} version {forecaster.version} knows no series by id"
            " (it was trained before versions kept their series): post its values",
        )
    return forecaster.series


def _unknown(forecaster: Forecaster, field: str, series_id: str) -> SeriesNotFound:
    table = forecaster.series
    nearest = table.nearest(series_id) if table is not None else []
    return SeriesNotFound.named(field, series_id, forecaster.name, nearest)


def _number(label: str, frequency: Frequency, field: str) -> int:
    try:
        return period_number(label, frequency)
    except ValueError as exc:
        raise InvalidInput.at(field, f"{exc} (the model's series are {frequency.value})") from None


def _shifted(label: str, steps: int, frequency: Frequency, field: str) -> str:
    """The period `steps` periods after `label` (`steps` may be -1: the one before)."""
    number = _number(label, frequency, field) + steps * period_step(frequency)
    return period_label(number, frequency)


def _agrees(start: str, end: str, frequency: Frequency, field: str, series_id: str) -> None:
    """Values posted for a known series continue its stored history: they start right after."""
    expected = _shifted(end, 1, frequency, field)
    if _number(start, frequency, field) != _number(expected, frequency, field):
        raise InvalidInput.at(
            field,
            f"series {series_id!r} is stored through {end}, so values posted for it start at"
            f" {expected}, not {start}; post the values since {expected}, or no start",
        )

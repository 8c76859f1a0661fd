"""Read many series from one long-format CSV: one row per series, period and value.

Catalogs (every product, store, region, industry) come in long format, the layout
the tools a forecaster would otherwise pick take: statsforecast / neuralforecast's
`unique_id, ds, y`, TimeGPT's `id_col`, Chronos-2's id column. Each series obeys the
rules one series does, through the same code: `training.data`'s parsing and repairs,
`training.periods`' calendar checks, every refusal one line, here naming the series
and the period too. The CLI
trains one model on every series (or one series picked with `--series`).
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from app.contract.calendar import Frequency, period_number
from training.data import (
    DataError,
    Problem,
    Series,
    choose_columns,
    drop_non_data,
    in_one_line,
    parse_table,
    read_text,
    to_values,
)
from training.periods import (
    BY_DAYS,
    BY_MONTHS,
    PeriodError,
    check_periods,
    iso_labels,
    parse_dates,
)

LONG_HEADER = ("unique_id", "ds", "y")  # statsforecast / neuralforecast: read with no options
LISTED = 5  # ids named in a message, at most: a catalog may hold thousands


@dataclass(frozen=True, eq=False)
class Panel:
    """Series by id, in the order they first appear in the file, with the file's provenance."""

    series: Mapping[str, Series]  # each carries its own notes only; `pick` adds the file's
    id_name: str
    frequency: Frequency  # the same for every series: one calendar per file
    source: Path
    sha256: str
    notes: tuple[str, ...] = ()  # what the reader repaired, sorted or skipped, for the user

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self.series)

    def pick(self, series_id: str) -> Series:
        """The named series, its notes led by the file's and by which series it is.

        An unknown id is refused naming the nearest ids, as a typo in a long code
        (`CEU0500000001`) is the likely cause.
        """
        found = self.series.get(series_id)
        if found is None:
            nearest = difflib.get_close_matches(series_id, self.ids, n=3, cutoff=0.5)
            hint = f"nearest: {', '.join(nearest)}" if nearest else f"ids: {listing(self.ids)}"
            raise DataError(
                f"{self.source}: no series {series_id!r} in column {self.id_name!r}; {hint}"
            )
        which = f"series {series_id!r} of column {self.id_name!r} ({len(self.series)} in the file)"
        return dataclasses.replace(found, notes=(*self.notes, which, *found.notes))

    def trainable(self, min_points: int) -> Panel:
        """The series with at least `min_points` (one training window); the rest skipped, noted.

        A catalog often holds a few new, short series; refusing the whole file for
        them would be unhelpful, dropping them silently worse. None left is refused.
        """
        short = [sid for sid, s in self.series.items() if len(s.values) < min_points]
        if short and len(short) == len(self.series):
            longest = max(self.series.items(), key=lambda item: len(item[1].values))
            raise DataError(
                f"{self.source}: too few points in every series for one training window"
                f" (at least {min_points} needed; the longest, {longest[0]!r},"
                f" has {len(longest[1].values)})"
            )
        why = f"too short for one training window (fewer than {min_points} points)"
        return self.without({sid: str(len(self.series[sid].values)) for sid in short}, why)

    @classmethod
    def of_one(cls, series_id: str, series: Series) -> Panel:
        """A single-series CSV as a panel of one, its series named `series_id`."""
        return cls({series_id: series}, "", series.frequency, series.source, series.sha256)

    @cached_property
    def iso_periods(self) -> dict[str, list[str]]:
        """Each series' period labels in ISO form (`app.contract.calendar`'s), in one pass."""
        every = tuple(p for s in self.series.values() for p in s.periods)
        labels = iso_labels(every, self.frequency)
        ends = np.cumsum([len(s.periods) for s in self.series.values()])
        return {
            sid: labels[end - len(s.periods) : end]
            for (sid, s), end in zip(self.series.items(), ends.tolist(), strict=True)
        }

    def before_cutoff(self, test_periods: int) -> dict[str, int]:
        """Per series, its points before the common calendar's last `test_periods` periods.

        One cutoff for every series, so no series' future reaches the training part
        through another: a series that ends earlier keeps fewer (or no) test points.
        """
        numbers = {
            sid: np.array([period_number(p, self.frequency) for p in labels])
            for sid, labels in self.iso_periods.items()
        }
        calendar = np.unique(np.concatenate(list(numbers.values())))
        cutoff = calendar[max(0, len(calendar) - test_periods)]
        return {sid: int(np.searchsorted(found, cutoff)) for sid, found in numbers.items()}

    def without(self, skipped: Mapping[str, str], why: str) -> Panel:
        """The panel less the `skipped` series (id -> detail), noted; refused if none is left."""
        if not skipped:
            return self
        if len(skipped) == len(self.series):
            raise DataError(f"{self.source}: every series is {why}")
        named = ", ".join(f"{sid!r} ({detail})" for sid, detail in list(skipped.items())[:LISTED])
        more = f" and {len(skipped) - LISTED} more" if len(skipped) > LISTED else ""
        kept = {sid: s for sid, s in self.series.items() if sid not in skipped}
        note = f"skipped {len(skipped)} series {why}: {named}{more}"
        return dataclasses.replace(self, series=kept, notes=(*self.notes, note))


def listing(ids: tuple[str, ...]) -> str:
    """At most LISTED ids, comma-separated, `...` when there are more."""
    return ", ".join([*ids[:LISTED], *(["..."] if len(ids) > LISTED else [])])


def is_long_format(path: Path | str) -> bool:
    """True when the file's header is exactly `unique_id, ds, y`; False when it cannot tell.

    Reads the first non-blank line only; a file that cannot be read is left for the
    loader, which names the problem.
    """
    try:
        with Path(path).open(encoding="utf-8-sig", newline="") as file:
            header = next((line for line in file if line.strip()), "")
    except (OSError, UnicodeDecodeError):
        return False
    sep = next((s for s in (",", ";", "\t") if s in header), ",")
    names = next(csv.reader([header.strip("\r\n")], delimiter=sep), [])
    return tuple(name.strip() for name in names) == LONG_HEADER


def load_panel(
    path: Path | str,
    *,
    id_column: str | None = None,
    date_column: str | None = None,
    value_column: str | None = None,
    min_points: int = 1,
    raw: bytes | None = None,
) -> Panel:
    """Read every series of a long-format CSV; skip those shorter than `min_points`, noted.

    The id column is `id_column`, or `unique_id` under a `unique_id, ds, y` header.
    `raw`: the file's bytes already read and verified (`training.datafile`), parsed
    instead of reading `path`. Raises DataError, one line naming the file (and the
    series and period at fault).
    """
    path = Path(path)
    panel = in_one_line(path, lambda: _load(path, id_column, date_column, value_column, raw))
    return panel.trainable(min_points)


def _load(
    path: Path,
    id_column: str | None,
    date_column: str | None,
    value_column: str | None,
    raw: bytes | None,
) -> Panel:
    """Parse as data.py does, then group rows by series, sort by period and check each series."""
    raw, text = read_text(path, raw)
    notes: list[str] = []
    names, table = parse_table(text, notes)
    if id_column is None and tuple(names) == LONG_HEADER:
        id_column = LONG_HEADER[0]
    if id_column is None:
        raise Problem("no series column: name it with --id-column (or use unique_id, ds, y)")
    if id_column not in names:
        raise Problem(f"no column {id_column!r}; columns are: {', '.join(names)}")
    i_col = names.index(id_column)
    d_col, v_col = _columns(table, names, i_col, (date_column, value_column), notes)
    table = drop_non_data(table, d_col, v_col, notes)
    if table.empty:
        raise Problem("no data rows after the header")
    ids = table[i_col].str.strip()
    if (ids == "").any():
        raise Problem(f"line {ids.index[int(np.argmax(ids == ''))]}: series id is missing")
    labels = table[d_col].str.strip()
    order = _series_order(ids, labels, table.index, notes)
    info = (names[v_col], names[d_col], path, hashlib.sha256(raw).hexdigest())
    series = _split(ids, labels, table[v_col], order, info)
    frequency = _one_frequency(series)
    series = {k: dataclasses.replace(s, frequency=frequency) for k, s in series.items()}
    lengths = [len(s.values) for s in series.values()]
    notes.append(
        f"read {len(series)} series of {names[v_col]!r} by {names[d_col]!r}, keyed by"
        f" {id_column!r}: {sum(lengths)} values, {min(lengths)} to {max(lengths)} per series,"
        f" {frequency.value}"
    )
    return Panel(series, id_column, frequency, path, info[3], tuple(notes))


def _columns(
    table: pd.DataFrame,
    names: list[str],
    i_col: int,
    wanted: tuple[str | None, str | None],
    notes: list[str],
) -> tuple[int, int]:
    """(period, value) positions, chosen by data.py's rules among the columns besides the id.

    Unnamed, the period column is the first text column whose cells are dates: a
    catalog often has a text label before it (the employment panel's `title`).
    """
    if names[i_col] in wanted:
        raise Problem(f"column {names[i_col]!r} is the series id, not a period or value column")
    rest = [i for i in range(len(names)) if i != i_col]
    view = table[rest].set_axis(range(len(rest)), axis=1)
    rest_names = [names[i] for i in rest]
    date_column, value_column = wanted
    if date_column is None:
        dated = (j for j in range(len(rest)) if rest_names[j] != value_column)
        date_column = next((rest_names[j] for j in dated if _is_period_column(view[j])), None)
    d, v = choose_columns(view, rest_names, (date_column, value_column), notes)
    return rest[d], rest[v]


def _is_period_column(cells: pd.Series) -> bool:
    """Text cells (not plain numbers) of which the first 100 filled ones are nearly all dates."""
    sample = cells[cells.str.strip() != ""].head(100)
    if sample.empty or pd.to_numeric(sample, errors="coerce").notna().mean() > 0.5:
        return False
    return bool(parse_dates(sample).notna().mean() > 0.9)


def _series_order(
    ids: pd.Series, labels: pd.Series, lines: pd.Index, notes: list[str]
) -> np.ndarray:
    """Row positions grouped by series (in order of first appearance), by period within each.

    Unparsed periods sort first, so the per-series check names them by line.
    """
    codes = pd.factorize(ids)[0]
    stamps = parse_dates(labels).to_numpy().astype("datetime64[ns]").view(np.int64)
    order = np.lexsort((stamps, codes))  # stable: equal periods keep file order
    moved = np.flatnonzero(order != np.arange(len(order)))
    if moved.size:
        notes.append(
            f"rows not sorted by series and period (from line {lines[int(moved[0])]}):"
            " grouped by series and sorted by period within each"
        )
    return order


def _split(
    ids: pd.Series,
    labels: pd.Series,
    cells: pd.Series,
    order: np.ndarray,
    info: tuple[str, str, Path, str],
) -> dict[str, Series]:
    """One checked Series per id; a refusal names the series before the line and period."""
    value_name, period_name, path, sha256 = info
    grouped = ids.to_numpy()[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    bounds = list(zip(starts.tolist(), [*starts[1:].tolist(), len(order)], strict=True))
    checked = _all_regular(labels.iloc[order], grouped, cells.iloc[order])
    series: dict[str, Series] = {}
    for start, end in bounds:
        rows = order[start:end]
        sid = str(grouped[start])
        periods = tuple(labels.iloc[rows])
        if checked is not None:
            frequency, values = checked[0], checked[1][start:end]
        else:  # something is wrong: the per-series checks find it and name it
            try:
                frequency = check_periods(periods, tuple(labels.index[rows]))
                values = to_values(cells.iloc[rows], periods)
            except (PeriodError, Problem) as exc:
                raise Problem(f"series {sid!r}: {exc}") from None
        note = f"read {len(values)} values ({periods[0]} .. {periods[-1]}, {frequency.value})"
        series[sid] = Series(
            values, periods, value_name, period_name, frequency, path, sha256, (note,)
        )
    return series


def _all_regular(
    labels: pd.Series, grouped: np.ndarray, cells: pd.Series
) -> tuple[Frequency, np.ndarray] | None:
    """(frequency, values) when every series is a regular calendar of numbers, else None.

    The whole file in a few array passes: 10,000 series checked one by one took a
    minute. Anything wrong (a non-date, a duplicate, a gap, mixed steps, a bad value)
    returns None, and the per-series checks then find the first fault and name it.
    """
    stamps = parse_dates(labels)
    if stamps.isna().any():
        return None
    same = grouped[1:] == grouped[:-1]
    days = np.diff(stamps.to_numpy().astype("datetime64[D]").astype(np.int64))[same]
    months = np.diff(stamps.dt.year.to_numpy() * 12 + stamps.dt.month.to_numpy())[same]
    if not same.any():
        return None
    steps, table = (days, BY_DAYS) if float(np.median(days)) < 28 else (months, BY_MONTHS)
    frequency = table.get(int(steps[0]))
    if frequency is None or (steps != steps[0]).any():
        return None
    try:
        values = to_values(cells, tuple(labels))
    except Problem:
        return None
    return frequency, values


def _one_frequency(series: Mapping[str, Series]) -> Frequency:
    """The frequency every series shares; the first series that differs is refused.

    One-point series show no step (their frequency is a guess), so they do not vote.
    """
    voting = [(sid, s) for sid, s in series.items() if len(s.values) > 1]
    if not voting:
        return next(iter(series.values())).frequency
    first_id, first = voting[0]
    for sid, s in voting[1:]:
        if s.frequency is not first.frequency:
            raise Problem(
                f"series {sid!r} is {s.frequency.value} (from {s.periods[0]}) but series"
                f" {first_id!r} is {first.frequency.value}: one file, one frequency"
            )
    return first.frequency

"""Load the univariate series that training fits on, from a user's CSV.

The product's own series ships with a broken header and a trailing empty line, and
users bring CSVs of their own. The loader repairs the quirks it can repair safely and
records each repair in ``Series.notes``; it refuses everything else with a one-line
``DataError`` naming the file and the problem: silently mangled data is worse than none.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from app.contract.calendar import Frequency
from app.errors import InvalidData
from training.periods import PeriodError, check_periods, is_date

_TYPOGRAPHIC_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})
_QUOTE_CHARS = "\"'\u201c\u201d\u2018\u2019 "
_MISSING_WORDS = frozenset({"", "na", "nan", "n/a", "null", "none"})
# Cells as written, blank lines kept: rows map to file lines and no value is guessed.
_AS_TEXT = {"header": None, "dtype": str, "na_filter": False, "skip_blank_lines": False}
_T = TypeVar("_T")
SAMPLE = 10_000  # cells a column's kind is judged on


@dataclass(frozen=True, eq=False)  # eq=False: comparing ndarrays field-wise is ambiguous
class Series:
    """A loaded series plus where it came from, so a model can record its provenance."""

    values: np.ndarray  # float64, 1-D, read-only
    periods: tuple[str, ...]  # period labels as written in the file, e.g. "1962-01"
    value_name: str
    period_name: str
    frequency: Frequency  # inferred from the periods, which are evenly spaced
    source: Path
    sha256: str  # of the file bytes: identifies exactly which data a model was trained on
    notes: tuple[str, ...] = ()  # what the loader repaired or ignored, for the user to review


class DataError(InvalidData):
    """The CSV cannot be used; the message is one line naming the file and the problem."""


class Problem(Exception):
    """Raised by the helpers below; `in_one_line` prefixes the file name and makes a DataError."""


def load_series(
    path: Path | str,
    *,
    date_column: str | None = None,
    value_column: str | None = None,
    min_points: int = 1,
) -> Series:
    """Read one period column and one numeric value column from the CSV at ``path``.

    Columns are picked by name when given, else the period column is the first
    non-numeric column and the value column the only numeric one left. Raises
    DataError (never a parser traceback) when the file cannot be trusted.
    """
    path = Path(path)

    def read() -> Series:
        series = _load(path, date_column, value_column)
        if len(series.values) < min_points:
            raise Problem(f"needs at least {min_points} points, found {len(series.values)}")
        return series

    return in_one_line(path, read)


def in_one_line(path: Path, read: Callable[[], _T]) -> _T:
    """Run a reader of `path`; whatever it refuses becomes one DataError line naming the file.

    Shared with `training.panel`, so one series or many, a user reads the same kind of line.
    """
    try:
        return read()
    except Problem as exc:
        problem = str(exc)
    # A parser corner case not foreseen by the helpers still ends as one clear line.
    except (ValueError, TypeError, OverflowError, csv.Error, pd.errors.ParserError) as exc:
        problem = f"cannot be read as CSV: {exc}"
    raise DataError(" ".join(f"{path}: {problem}".split()))  # one line, whatever text it quotes


def _load(path: Path, date_column: str | None, value_column: str | None) -> Series:
    """Run the reading steps in order; each either repairs (with a note) or refuses."""
    raw, text = read_text(path)
    notes: list[str] = []
    names, table = parse_table(text, notes)
    d_col, v_col = choose_columns(table, names, (date_column, value_column), notes)
    table = drop_non_data(table, d_col, v_col, notes)
    if table.empty:
        raise Problem("no data rows after the header")
    labels = tuple(table[d_col].str.strip())
    try:
        frequency = check_periods(labels, tuple(table.index))
    except PeriodError as exc:
        raise Problem(str(exc)) from None
    values = to_values(table[v_col], labels)
    what = f"{len(values)} values of {names[v_col]!r} by {names[d_col]!r}"
    notes.append(f"read {what} ({labels[0]} .. {labels[-1]}, {frequency.value})")
    return Series(
        values=values,
        periods=labels,
        value_name=names[v_col],
        period_name=names[d_col],
        frequency=frequency,
        source=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        notes=tuple(notes),
    )


def read_text(path: Path, raw: bytes | None = None) -> tuple[bytes, str]:
    """Read the bytes once, as they are both parsed and hashed; refuse what is not UTF-8 text.

    `raw`: the file's bytes, already read (and checked against a manifest's sha256):
    those are parsed, and `path` only names them.
    """
    if raw is None:
        raw = _read_bytes(path)
    if b"\x00" in raw:
        raise Problem("is binary (contains NUL bytes), not a text CSV file")
    try:
        text = raw.decode("utf-8-sig")  # utf-8-sig: a BOM (Excel's "CSV UTF-8") is dropped
    except UnicodeDecodeError as exc:
        at = exc.start
        raise Problem(f"is not UTF-8 text (byte 0x{raw[at]:02x} at offset {at})") from None
    if not text.strip():
        raise Problem("file is empty")
    return raw, text.replace("\r\n", "\n").replace("\r", "\n")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise Problem("file not found") from None
    except IsADirectoryError:
        raise Problem("is a directory, not a CSV file") from None
    except OSError as exc:
        raise Problem(f"cannot be read ({exc.strerror or exc})") from None


def parse_table(text: str, notes: list[str]) -> tuple[list[str], pd.DataFrame]:
    """Split off the header, parse the body as strings, index rows by file line number."""
    lines = text.split("\n")
    head_at = next(i for i, line in enumerate(lines) if line.strip())
    header = lines[head_at].translate(_TYPOGRAPHIC_QUOTES)
    sep = next((s for s in (",", ";", "\t") if s in header), ",")
    if sep != ",":
        notes.append(f"separator is {sep!r}")
    names = [name.strip() for name in next(csv.reader([header], delimiter=sep))]
    body = "\n".join(lines[head_at + 1 :])
    width = max([len(row) for row in csv.reader(io.StringIO(body), delimiter=sep)] or [0])
    names = _header_names(names, lines[head_at], width, sep, notes)
    try:
        table = pd.read_csv(io.StringIO(body), sep=sep, names=range(len(names)), **_AS_TEXT)
    except pd.errors.ParserError as exc:  # pandas counts rows from 0 after the header
        row = re.search(r"EOF inside string starting at row (\d+)", str(exc))
        if row is None:
            raise
        raise Problem(f"line {head_at + 2 + int(row[1])}: quoted field never closed") from None
    table = table.fillna("")
    table.index = pd.RangeIndex(head_at + 2, head_at + 2 + len(table))
    return names, table


def _header_names(names: list[str], raw: str, width: int, sep: str, notes: list[str]) -> list[str]:
    """Validate the header; repair one whose quotes swallowed the separators."""
    why = "typographic quotes" if raw.translate(_TYPOGRAPHIC_QUOTES) != raw else ""
    if len(names) < width:
        why = f"{len(names)} field(s) for {width} data columns"
        names = [part.strip(_QUOTE_CHARS) for part in raw.split(sep)]
        if len(names) != width:
            raise Problem(f"header has {len(names)} field(s) but data rows have {width}")
    names = [name or f"column{i + 1}" for i, name in enumerate(names)]
    if why:
        notes.append(f"header malformed ({why}): read as {','.join(names)}")
    twice = [name for name in names if names.count(name) > 1]
    if twice:
        raise Problem(f"header names column {twice[0]!r} more than once")
    if is_date(names[0]) and _is_numeric_column(pd.Series(names[1:])):
        raise Problem("first line looks like data, not a header (e.g. Month,Production)")
    return names


def choose_columns(
    table: pd.DataFrame, names: list[str], wanted: tuple[str | None, str | None], notes: list[str]
) -> tuple[int, int]:
    """Return (period, value) column positions: the requested names, else the unambiguous pick."""
    for name in wanted:
        if name is not None and name not in names:
            raise Problem(f"no column {name!r}; columns are: {', '.join(names)}")
    if len(names) < 2:
        raise Problem(f"only one column ({names[0]}); need a period column and a value column")
    d_col, v_col = (None if name is None else names.index(name) for name in wanted)
    if d_col is None:
        others = [i for i in range(len(names)) if i != v_col]
        d_col = next((i for i in others if not _is_numeric_column(table[i])), others[0])
    if v_col is None:
        v_col = _pick_value_column(table, names, d_col, notes)
    if v_col == d_col:
        raise Problem(f"period and value column are both {names[d_col]!r}")
    return d_col, v_col


def _pick_value_column(table: pd.DataFrame, names: list[str], d_col: int, notes: list[str]) -> int:
    """Use the only numeric column besides the periods; never guess between several."""
    rest = [i for i in range(len(names)) if i != d_col]
    numeric = [i for i in rest if _is_numeric_column(table[i])]
    if not numeric and all(table[i].map(_is_missing).all() for i in rest):
        raise Problem("no data rows after the header")
    if not numeric:
        listed = ", ".join(names[i] for i in rest)
        raise Problem(f"no numeric column besides {names[d_col]!r} (columns: {listed})")
    if len(numeric) > 1:
        listed = ", ".join(names[i] for i in numeric)
        raise Problem(f"several numeric columns ({listed}): choose one with --value-column")
    if len(rest) > 1:
        ignored = ", ".join(names[i] for i in rest if i != numeric[0])
        notes.append(f"value column {names[numeric[0]]!r} picked; ignored columns: {ignored}")
    return numeric[0]


def drop_non_data(table: pd.DataFrame, d_col: int, v_col: int, notes: list[str]) -> pd.DataFrame:
    """Drop empty lines and trailing footers (no valid period and no value), with a note."""
    blank = (table.apply(lambda col: col.str.strip()) == "").all(axis=1)
    if blank.any():
        notes.append(f"ignored {int(blank.sum())} empty line(s)")
        table = table[~blank]
    end = len(table)
    while end and _is_missing(table[v_col].iloc[end - 1]):
        if is_date(table[d_col].iloc[end - 1].strip()):
            break
        end -= 1
    if end < len(table):
        first = " ".join(table.iloc[end]).strip()[:60]
        notes.append(f"ignored {len(table) - end} trailing non-data line(s) from {first!r}")
    return table.iloc[:end]


def to_values(cells: pd.Series, labels: tuple[str, ...]) -> np.ndarray:
    """Convert every value exactly; refuse gaps, text and infinities, naming the first one.

    Python's `float` parses each cell: correctly rounded, the same in every pandas
    (`pd.to_numeric` rounds some values differently across versions, and calls
    1e400 not a number rather than infinite).
    """
    numbers = np.array([_number(cell) for cell in cells], dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(numbers))
    if bad.size:
        at = int(bad[0])
        cell = cells.iloc[at].strip()
        if _is_missing(cell):
            problem = "value is missing" + (f" ({cell!r})" if cell else "")
        elif np.isinf(numbers[at]):
            problem = f"value {cell!r} is not finite"
        else:
            problem = f"value {cell!r} is not a number"
        more = f" (and {bad.size - 1} more bad value(s))" if bad.size > 1 else ""
        raise Problem(f"line {cells.index[at]} (period {labels[at]}): {problem}{more}")
    numbers.setflags(write=False)
    return numbers


def _number(cell: str) -> float:
    """The cell's value, or NaN when it is not a number (`1_000` is not: CSVs have no such)."""
    text = cell.strip()
    if "_" in text:
        return float("nan")
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _is_missing(cell: str) -> bool:
    return cell.strip().lower() in _MISSING_WORDS


def _is_numeric_column(cells: pd.Series) -> bool:
    """A column is numeric when most of its non-empty cells are numbers (typos still count).

    Judged on the first `SAMPLE` cells: a long catalog's million rows say no more.
    """
    cells = cells.head(SAMPLE)
    filled = cells[~cells.map(_is_missing)].str.strip()
    return not filled.empty and bool(pd.to_numeric(filled, errors="coerce").notna().mean() > 0.5)

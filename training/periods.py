"""Period labels: parsed, checked unique, increasing and evenly spaced; their frequency inferred.

Labels may be years (`1871`), quarters (`1990-Q1`, `1990Q1`), or dates in any
form pandas reads (`1962-01`, `2020-01-31`, `Jan 1962`); months 01/04/07/10 (or
any months three apart) are quarters. Windows assume consecutive periods, so a
gap or an irregular step is refused, naming the first one, rather than let a
model learn from a calendar that is not there.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from app.contract.calendar import Frequency
from app.errors import InvalidData


class PeriodError(InvalidData):
    """Labels that are not a regular calendar; the message names the first line at fault."""


_YEAR = re.compile(r"^\d{4}$")
_QUARTER = re.compile(r"^(\d{4})\s*-?\s*Q([1-4])$", re.IGNORECASE)
BY_DAYS = {1: Frequency.DAILY, 7: Frequency.WEEKLY}
BY_MONTHS = {1: Frequency.MONTHLY, 3: Frequency.QUARTERLY, 12: Frequency.ANNUAL}


def parse_dates(labels: pd.Series) -> pd.Series:
    """Labels as timestamps (years and quarters at their first day); what does not parse is NaT.

    Each distinct label is parsed once: a catalog of 10,000 series repeats the same 120
    months, and parsing 1.2 million cells one by one took a minute.
    """
    distinct, inverse = np.unique(labels.astype(str).to_numpy(), return_inverse=True)
    parsed = _parse_distinct(pd.Series(distinct))
    return pd.Series(parsed.to_numpy()[inverse], index=labels.index)


def _parse_distinct(labels: pd.Series) -> pd.Series:
    text = labels.astype(str).str.strip()
    quarter = text.str.extract(_QUARTER)
    as_quarter = pd.to_datetime(
        quarter[0] + "-" + ((quarter[1].astype(float) - 1) * 3 + 1).astype("Int64").astype(str),
        format="%Y-%m",
        errors="coerce",
    )
    years = text.where(text.str.fullmatch(_YEAR))
    as_year = pd.to_datetime(years, format="%Y", errors="coerce")
    rest = text.where(quarter[0].isna() & years.isna())
    try:
        general = pd.to_datetime(rest, errors="coerce", format="mixed")
    except (ValueError, TypeError, OverflowError):  # e.g. mixed time zones: refused as non-dates
        general = pd.Series(pd.NaT, index=labels.index)
    return as_quarter.fillna(as_year).fillna(general)


def is_date(label: str) -> bool:
    return not parse_dates(pd.Series([label])).isna().iloc[0]


def check_periods(labels: tuple[str, ...], lines: tuple[int, ...]) -> Frequency:
    """Refuse non-dates, duplicates, disorder and gaps; return the frequency the steps show."""
    stamps = parse_dates(pd.Series(labels))
    bad = np.flatnonzero(stamps.isna().to_numpy())
    if bad.size:
        at = int(bad[0])
        what = f"period {labels[at]!r} is not a date" if labels[at] else "period is missing"
        more = f" (and {bad.size - 1} more)" if bad.size > 1 else ""
        raise PeriodError(f"line {lines[at]}: {what}{more}")
    dups = np.flatnonzero(stamps.duplicated(keep=False).to_numpy())
    if dups.size:
        named = [f"{labels[i]} (line {lines[i]})" for i in dups[:6]]
        more = f" and {dups.size - len(named)} more" if dups.size > len(named) else ""
        raise PeriodError(f"duplicated periods: {', '.join(named)}{more}")
    steps = (stamps.diff().iloc[1:] <= pd.Timedelta(0)).to_numpy()
    if steps.any():
        i = int(np.argmax(steps)) + 1
        pair = f"{labels[i]} (line {lines[i]}) comes after {labels[i - 1]} (line {lines[i - 1]})"
        raise PeriodError(f"periods out of order: {pair}")
    if len(labels) < 2:
        return Frequency.MONTHLY if not _YEAR.match(labels[0].strip()) else Frequency.ANNUAL
    return _regular_frequency(stamps, labels, lines)


def _regular_frequency(
    stamps: pd.Series, labels: tuple[str, ...], lines: tuple[int, ...]
) -> Frequency:
    """The one step between consecutive periods, in days (daily, weekly) or months (the rest)."""
    days = np.diff(stamps.to_numpy().astype("datetime64[D]").astype(np.int64))
    months = np.diff(stamps.dt.year.to_numpy() * 12 + stamps.dt.month.to_numpy())
    by_days = float(np.median(days)) < 28
    steps, table, unit = (days, BY_DAYS, "day") if by_days else (months, BY_MONTHS, "month")
    values, counts = np.unique(steps, return_counts=True)
    usual = int(values[np.argmax(counts)])
    frequency = table.get(usual)
    if frequency is None:
        kinds = ", ".join(f"{f.value} ({n} {unit}s)" for n, f in table.items())
        raise PeriodError(
            f"periods are {usual} {unit}(s) apart; supported steps in {unit}s: {kinds}"
        )
    odd = np.flatnonzero(steps != usual)
    if odd.size:
        i = int(odd[0]) + 1
        expected = _label(stamps.iloc[i - 1], frequency)
        raise PeriodError(
            f"line {lines[i]}: gap or irregular step in the {frequency.value} series:"
            f" {labels[i]} follows {labels[i - 1]} (line {lines[i - 1]}); expected {expected}"
            + (f" (and {odd.size - 1} more)" if odd.size > 1 else "")
        )
    return frequency


def _label(previous: pd.Timestamp, frequency: Frequency) -> str:
    """The period that should follow `previous`, written the way people write it."""
    if frequency is Frequency.DAILY:
        return (previous + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    if frequency is Frequency.WEEKLY:
        return (previous + pd.Timedelta(days=7)).strftime("%Y-%m-%d")
    months = {Frequency.MONTHLY: 1, Frequency.QUARTERLY: 3, Frequency.ANNUAL: 12}[frequency]
    following = previous + pd.DateOffset(months=months)
    if frequency is Frequency.ANNUAL:
        return f"{following.year}"
    if frequency is Frequency.QUARTERLY:
        return f"{following.year}-Q{(following.month - 1) // 3 + 1}"
    return following.strftime("%Y-%m")


def iso_labels(labels: tuple[str, ...], frequency: Frequency) -> list[str]:
    """Period labels as written (`Jan 1962`, `1990Q1`) in the ISO form a version stores.

    Years `1990`, quarters `1990-Q1`, months `1990-01`, weeks and days `1990-01-31`:
    what `app.contract.calendar` reads back to count and name periods when serving.
    """
    distinct, inverse = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
    stamps = parse_dates(pd.Series(distinct))
    if frequency is Frequency.ANNUAL:
        written = stamps.dt.strftime("%Y")
    elif frequency is Frequency.QUARTERLY:
        written = stamps.dt.strftime("%Y-Q") + ((stamps.dt.month - 1) // 3 + 1).astype(str)
    elif frequency is Frequency.MONTHLY:
        written = stamps.dt.strftime("%Y-%m")
    else:
        written = stamps.dt.strftime("%Y-%m-%d")
    return written.to_numpy()[inverse].tolist()  # each distinct label written once

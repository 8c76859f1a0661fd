"""The frequencies a series may have, and the season each one implies by default.

Training infers a series' frequency from its period labels and records it in the
manifest; the season length defaults from it (a user who knows better passes
`--season-length`, and 1 means no season at all).
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum


class Frequency(StrEnum):
    ANNUAL = "annual"
    QUARTERLY = "quarterly"
    MONTHLY = "monthly"
    WEEKLY = "weekly"
    DAILY = "daily"

    @property
    def season_length(self) -> int:
        """The calendar's natural season in steps; 1 (no season) for annual data."""
        return _SEASONS[self]


_SEASONS = {
    Frequency.ANNUAL: 1,
    Frequency.QUARTERLY: 4,
    Frequency.MONTHLY: 12,
    Frequency.WEEKLY: 52,
    Frequency.DAILY: 7,
}


def period_number(label: str, frequency: Frequency) -> int:
    """A period as a step count, so consecutive periods are consecutive integers.

    Labels are ISO as a version stores them (`1990`, `1990-Q1`, `1990-01`, `1990-01-31`);
    a date names the period holding it (`2019-07-15` is `2019-07` for a monthly series).
    Raises ValueError for a label that is not one. Weekly periods count in weeks from
    the first week's weekday, so labels of one weekly series differ by multiples of 7 days.
    """
    text = label.strip()
    if frequency is Frequency.ANNUAL:
        if _YEAR_LABEL.fullmatch(text) is None:
            return date.fromordinal(_day(text)).year  # a date names its year
        return int(text)
    if frequency is Frequency.QUARTERLY:
        found = _QUARTER_LABEL.fullmatch(text)
        if found:
            return int(found[1]) * 4 + int(found[2]) - 1
        year, month = _year_month(text, "a quarter like 2019-Q3")
        return year * 4 + (month - 1) // 3
    if frequency is Frequency.MONTHLY:
        year, month = _year_month(text, "a month like 2019-07")
        return year * 12 + month - 1
    return _day(text)  # days; weeks count in days too, 7 apart (`period_step`)


def period_label(number: int, frequency: Frequency) -> str:
    """The ISO label of a period number from `period_number`."""
    if frequency is Frequency.ANNUAL:
        return f"{number:04d}"
    if frequency is Frequency.QUARTERLY:
        return f"{number // 4:04d}-Q{number % 4 + 1}"
    if frequency is Frequency.MONTHLY:
        return f"{number // 12:04d}-{number % 12 + 1:02d}"
    return date.fromordinal(number).isoformat()


def following(label: str, frequency: Frequency, count: int) -> list[str]:
    """The `count` periods after `label`, as ISO labels."""
    start, step = period_number(label, frequency), period_step(frequency)
    return [period_label(start + step * k, frequency) for k in range(1, count + 1)]


def ending_at(label: str, frequency: Frequency, count: int) -> list[str]:
    """The `count` periods ending at `label`, oldest first, as ISO labels."""
    end, step = period_number(label, frequency), period_step(frequency)
    return [period_label(end - step * k, frequency) for k in range(count - 1, -1, -1)]


def period_step(frequency: Frequency) -> int:
    """How far apart consecutive periods' numbers are: 7 for weeks (counted in days), else 1."""
    return 7 if frequency is Frequency.WEEKLY else 1


_YEAR_LABEL = re.compile(r"(\d{4})")
_QUARTER_LABEL = re.compile(r"(\d{4})-?Q([1-4])", re.IGNORECASE)
_MONTH_LABEL = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")


def _match(pattern: re.Pattern[str], text: str, wanted: str) -> re.Match[str]:
    found = pattern.fullmatch(text)
    if found is None:
        raise ValueError(f"{text!r} is not {wanted}")
    return found


def _year_month(text: str, wanted: str) -> tuple[int, int]:
    found = _match(_MONTH_LABEL, text, wanted)
    year, month = int(found[1]), int(found[2])
    if not 1 <= month <= 12:
        raise ValueError(f"{text!r} is not {wanted}")
    if found[3] is not None:
        _day(text)  # a full date must be a real one
    return year, month


def _day(text: str) -> int:
    try:
        return date.fromisoformat(text).toordinal()
    except ValueError:
        raise ValueError(f"{text!r} is not a date like 2019-07-31") from None

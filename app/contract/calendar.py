"""The frequencies a series may have, and the season each one implies by default.

Training infers a series' frequency from its period labels and records it in the
manifest; the season length defaults from it (a user who knows better passes
`--season-length`, and 1 means no season at all).
"""

from __future__ import annotations

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

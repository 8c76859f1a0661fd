"""What one request may cost: one estimate and one set of limits, for every route and protocol.

A request's work is counted in units, one per number the service reads, computes
or sends back for it: each posted value, each ensemble member's forecast of one
step for one series (or one backtest origin), each interval bound; and `STEP` more
per forecast step, the fixed cost of one recursive step whatever the batch.
Measured on the monthly default (five members): a network unit costs ~1.6 us of
CPU in batches of 100 or more, a step ~150 us for a single series, an interval bound
~0.1-0.3 us of CPU but ~100 bytes of peak memory on its way out as JSON. So one
figure bounds both the seconds and the bytes, and the limits below are what a
request may ask for before anything is computed:

- `Settings.max_levels` interval levels (the count as sent, duplicates included),
  so that v1's `levels` and V2's `parameters.levels` are refused alike;
- `Settings.max_work` units: the data plane refuses a bigger request before any
  forecast starts (`DataPlane` checks it, so every protocol gets it), and
  `app.http.offload` runs on the event loop only requests of `INLINE_WORK` units.

Nothing here knows HTTP: refusals are `InvalidInput` naming the limit, its
setting and the request's own figure.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import InvalidInput

MAX_LEVELS = 10
"""Default of `Settings.max_levels` (v1's cap before it was a setting), and the V2 codec's
when it is called without settings."""

STEP = 100
"""Units per recursive forecast step, on top of its per-series work: ~150 us / ~1.6 us."""

MAX_WORK = 1_000_000
"""Default of `Settings.max_work`: ~1.6 s of one core when it is all network steps. The
largest batch the other defaults allow (1,000 series of 89 values, horizon 120, the
monthly default's five members) is ~700,000; evaluating 10,000 values at horizon 120
(~6,000,000, nine seconds) is not."""


@dataclass(frozen=True)
class Work:
    """A request's cost in units, and how they add up in the request's own terms."""

    units: int
    terms: str

    @classmethod
    def forecast(cls, series: int, values: int, horizon: int, members: int, levels: int) -> Work:
        """Forecasting `series` rows (`values` numbers in all) `horizon` steps ahead."""
        per_step = STEP + series * (members + 2 * levels)
        return cls(
            values + horizon * per_step,
            f"{values:,} values + {horizon:,} steps x ({STEP} + {series:,} series x"
            f" ({_members(members)} + 2 bounds x {levels:,} levels))",
        )

    @classmethod
    def evaluate(cls, values: int, origins: int, horizon: int, members: int, levels: int) -> Work:
        """A one-step forecast from each of `origins` points, and with `horizon` > 1 a
        backtest of `horizon` more steps from each; interval bounds for the one-step only."""
        steps = 1 + (horizon if horizon > 1 else 0)
        return cls(
            values + steps * STEP + origins * (steps * members + 2 * levels),
            f"{values:,} values + {steps:,} steps x {STEP} + {origins:,} forecast origins x"
            f" ({steps:,} steps x {_members(members)} + 2 bounds x {levels:,} levels)",
        )


def check_work(work: Work, limit: int) -> None:
    """Refuse a request of more than `limit` units, saying where its figure comes from."""
    if work.units > limit:
        raise InvalidInput.at(
            "body",
            f"this request is {work.units:,} units of work ({work.terms}); at most {limit:,}"
            " (FORECAST_MAX_WORK): send fewer or shorter series, a shorter horizon or fewer"
            " levels",
        )


def check_levels(count: int, limit: int, field: str = "levels") -> None:
    """Refuse more than `limit` interval levels; `field` names them as the caller's protocol
    does (`levels`, `parameters.levels`)."""
    if count > limit:
        raise InvalidInput.at(field, f"at most {limit} levels (FORECAST_MAX_LEVELS), got {count:,}")


def _members(members: int) -> str:
    return "1 network" if members == 1 else f"{members} ensemble members"

"""Prediction intervals: split-conformal, per horizon step, from residuals in the training part.

Training refits the model at a few origins inside its training part, forecasts
1..H steps ahead from every later origin (true history, no peeking past the
training part; a version of one series also forecasts with its own fit from every
origin, `training.calibrate`) and keeps, for each step h, the absolute residuals
`|y - ŷ|` in the pipeline's error space (logs for a log-transformed series, where errors
are multiplicative; series units otherwise). That is the `Calibration` a
version carries. Serving turns it into intervals of any level L: the half-width
at step h is the ceil((n + 1) L)-th smallest of the n residuals of step h, the
split-conformal quantile (Vovk et al. 2005; Stankeviciute et al. 2021 use it
per step for recursive forecasts), never narrower than the step before, since
recursive errors only accumulate. Intervals therefore nest by level and widen
with the step by construction.

Above `GAUSSIAN_CAP_ABOVE` (80 %), the quantile is capped at the normal one of the
step's residual RMS, z_L * RMS. A high level's conformal quantile is one of the few
largest residuals, and the refits' origins overlap, so one outlying month forecast by
all three refits fills the top ranks: milk's 95 % band was twice SARIMA's because of one
January. The RMS weighs every residual, so the cap bounds what a lone event can do,
and it never widens a band, nor narrows it below the 80 % band, so levels stay nested.
It was chosen by nested validation inside the training parts of the panel
(`python -m bench.calibration_check`; the README's accuracy section has the figures);
the 80 % level stays conformal, as capping it there cost coverage over steps 1..12.

Scores for intervals are here too, so training's test report and `/evaluate`
measure coverage, width and the Winkler (interval) score the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property, lru_cache
from itertools import pairwise
from statistics import NormalDist
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

Space = Literal["identity", "log"]
CALIBRATION_FILE = "calibration.json"
MAX_RESIDUALS = 250_000
"""Most residuals a calibration holds over all its steps (milk/2 has about 1,100): a bound on
the memory one calibration file may cost, as a file of 250,000 residuals is about 5 MB."""
MAX_ORIGINS = 64  # training refits at 3
GAUSSIAN_CAP_ABOVE = 80.0
"""Levels above this (percent) are capped at the normal quantile of the step's residual RMS."""

Residual = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Calibration(BaseModel):
    """What a version needs to serve intervals: residuals per step, and where they live."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["split_conformal_abs_residual"] = "split_conformal_abs_residual"
    space: Space = Field(description="Where residuals are additive: `log` for log pipelines.")
    normalised: bool = Field(
        default=False,
        description="Residuals are in units of each series' spread (`app.contract.series`),"
        " pooled over series; each series' bands are scaled back by its own spread.",
    )
    origins: list[int] = Field(
        max_length=MAX_ORIGINS, description="Series indices where the model was refitted."
    )
    residuals: list[list[Residual]] = Field(
        description="Absolute residuals inside the training part for steps 1..H, each sorted"
        " ascending."
    )

    @model_validator(mode="after")
    def _check(self) -> Calibration:
        """What `half_widths` relies on: every step has residuals, sorted; not too many.

        (Finite and non-negative is `Residual`'s rule.) An unsorted step is refused,
        not sorted here: training writes them sorted, so a file that is not was not
        written by training.
        """
        if (total := sum(map(len, self.residuals))) > MAX_RESIDUALS:
            raise ValueError(f"{total:,} residuals; a calibration holds at most {MAX_RESIDUALS:,}")
        for step, residuals in enumerate(self.residuals, 1):
            if not residuals:
                raise ValueError(f"step {step} has no residuals")
            if any(a > b for a, b in pairwise(residuals)):
                raise ValueError(f"the residuals of step {step} are not sorted ascending")
        return self

    @classmethod
    def from_json(cls, data: bytes) -> Calibration:
        """Parse a calibration file, refusing one with too many values before parsing it.

        Commas bound the values: each value but the first of its array follows
        one, and so does each step's array but the first. Counting them is one pass
        over the bytes, before the parser builds a float for each value: 4 MB of
        "0," would otherwise cost over 130 MB of memory before the count is known.
        A calibration within `MAX_RESIDUALS` never has more commas than this allows.
        """
        if (values := data.count(b",") + 1) > MAX_RESIDUALS + MAX_ORIGINS + 4:
            raise ValueError(f"{values:,} values; a calibration holds at most {MAX_RESIDUALS:,}")
        return cls.model_validate_json(data)

    @property
    def horizon(self) -> int:
        """H: the longest horizon intervals are calibrated for."""
        return len(self.residuals)

    def half_widths(self, levels: Sequence[float], horizon: int) -> np.ndarray:
        """(levels, horizon) half-widths in the error space; `levels` in percent, (0, 100)."""
        if horizon > self.horizon:
            raise ValueError(f"intervals are calibrated up to {self.horizon} steps")
        out = np.empty((len(levels), horizon))
        for j, level in enumerate(levels):
            z = _normal_quantile(level) if level > GAUSSIAN_CAP_ABOVE else None
            for h in range(horizon):
                residuals = self.residuals[h]
                out[j, h] = conformal_quantile(residuals, level)
                if z is not None:
                    # Capped, but never below the 80 % band: levels stay nested.
                    floor = conformal_quantile(residuals, GAUSSIAN_CAP_ABOVE)
                    out[j, h] = max(min(out[j, h], z * self._rms[h]), floor)
        return np.maximum.accumulate(out, axis=1)  # never narrower than the step before

    @cached_property
    def _rms(self) -> list[float]:
        """Each step's root mean square residual: the scale the normal cap multiplies."""
        return [math.sqrt(math.fsum(r * r for r in step) / len(step)) for step in self.residuals]


@lru_cache(maxsize=64)
def _normal_quantile(level: float) -> float:
    """z with P(|Z| <= z) = level %: a two-sided normal interval's half-width in sigmas.

    From the lower tail, (100 - level) / 200: for a level a hair below 100 the upper
    tail's probability, 0.5 + level / 200, rounds to 1.0, where the quantile is infinite.
    """
    return -NormalDist().inv_cdf((100.0 - level) / 200.0)


def conformal_quantile(sorted_residuals: Sequence[float], level: float) -> float:
    """The ceil((n + 1) * level)-th smallest residual: the finite-sample conformal quantile.

    When n is too small for the level (ceil((n + 1) level) > n), the largest
    residual is used: the interval is then as wide as anything seen, and its
    guarantee is the empirical one.
    """
    n = len(sorted_residuals)
    rank = min(n, math.ceil((n + 1) * level / 100.0))
    return float(sorted_residuals[max(rank, 1) - 1])


def bounds(
    point: np.ndarray, half_width: np.ndarray, space: Space
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds around point forecasts (..., horizon) in series units."""
    if space == "log":
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_point = np.log(point)
            return np.exp(log_point - half_width), np.exp(log_point + half_width)
    return point - half_width, point + half_width


def bounds_by_row(
    point: np.ndarray, half_width: np.ndarray, log: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """`bounds` with each row in its own series' space: logs where `log` (batch,) is set.

    `point` is (batch, horizon) and `half_width` (..., batch or 1, horizon or 1): a leading
    axis (one per level) gives bounds for each in one pass.
    """
    lower, upper = bounds(point, half_width, "identity")
    if np.count_nonzero(log):
        half_width = np.broadcast_to(half_width, lower.shape)  # a batch axis to pick rows from
        log_lower, log_upper = bounds(point[log], half_width[..., log, :], "log")
        lower[..., log, :], upper[..., log, :] = log_lower, log_upper
    return lower, upper


def error_space(values: np.ndarray, space: Space) -> np.ndarray:
    """Values in the space where forecast errors are additive."""
    if space == "log":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(values)
    return np.asarray(values, dtype=np.float64)


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actuals inside their interval, as a fraction."""
    inside = (actual >= lower) & (actual <= upper)
    return float(np.mean(inside))


def mean_width(lower: np.ndarray, upper: np.ndarray) -> float:
    return float(np.mean(upper - lower))


def winkler(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: float) -> float:
    """Mean Winkler (interval) score: width, plus 2/alpha times any miss (lower is better)."""
    alpha = 1.0 - level / 100.0
    below = np.maximum(lower - actual, 0.0)
    above = np.maximum(actual - upper, 0.0)
    return float(np.mean(upper - lower + (2.0 / alpha) * (below + above)))


Level = Annotated[float, Field(gt=0, lt=100)]
"""An interval level in percent, the one rule for every caller: 80 means the interval should
hold the truth 80 % of the time, so a level is strictly between 0 and 100."""


def split_levels(text: str) -> list[str]:
    """`"80,95"`, `"80 95"` or `"[80, 95]"` as its parts (`["80", "95"]`); `""` as none.

    How levels are written where only a string fits: `FORECAST_DEFAULT_LEVELS` and
    V2's scalar `parameters.levels`. The parts are validated as `Level` by the caller.
    """
    return text.strip().strip("[]").replace(",", " ").split()

"""Named training recipes: the post's model (`seed`) and the project's recommended one (`default`).

A preset is plain data so the manifest can record exactly what was trained and
the CLI can override single fields without knowing how training uses them. The
only inputs that vary per series are the data and its season length: the
window length follows from the season (`for_season`), the log transform from a
rule on the training part (`pipeline_for`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from app.contract.calendar import Frequency
from app.contract.differencing import DifferencingPipeline, Transform
from app.contract.pipeline import Pipeline
from app.contract.scalers import SCALER_KINDS
from app.contract.seasonal import SeasonalPipeline, log_rule, window_length

PipelineKind = Literal["difference", "seasonal"]


@dataclass(frozen=True)
class Preset:
    """Every choice that shapes a trained model, except the data and the random seed."""

    name: str
    pipeline: PipelineKind
    look_back: int
    scaler: str  # a name in app.contract.scalers.SCALER_KINDS
    units: tuple[int, ...]  # LSTM units per stacked layer, first layer first
    batch_size: int
    learning_rate: float
    test_fraction: float
    epochs: int | None = None  # passes over the windows; None: derived from `steps`
    steps: int | None = None  # gradient steps, whatever the number of windows
    transform: Transform = Transform.NONE  # the differencing pipeline only
    season_length: int = 12
    members: int = 1  # networks averaged into one forecast (a seed ensemble)

    def __post_init__(self) -> None:
        """Refuse impossible settings here, so the CLI can report them before training starts."""
        problems = [
            f"{label} must be at least 1, got {value}"
            for label, value in (
                ("epochs", self.epochs),
                ("steps", self.steps),
                ("members", self.members),
                ("batch-size", self.batch_size),
                *(("units", u) for u in self.units),
            )
            if value is not None and value < 1
        ]
        if (self.epochs is None) == (self.steps is None):
            problems.append("give either epochs or steps")
        if not self.units:
            problems.append("at least one LSTM layer is needed")
        if not 0 < self.test_fraction < 1:
            problems.append(f"test-fraction must be between 0 and 1, got {self.test_fraction}")
        try:
            self.spec  # noqa: B018 - the pipeline's own rules for look_back and season_length
        except ValueError as exc:
            problems.append(str(exc).replace("_", "-"))  # named like the CLI options
        if self.scaler not in SCALER_KINDS:
            problems.append(f"scaler must be one of {', '.join(SCALER_KINDS)}, got {self.scaler!r}")
        if not self.learning_rate > 0:
            problems.append(f"learning rate must be positive, got {self.learning_rate}")
        if problems:
            raise ValueError("; ".join(problems))

    def for_season(self, season_length: int) -> Preset:
        """This recipe for a series with `season_length` (1: no season).

        The seasonal pipeline's window is half a season, at least 4 steps (5 without a
        season: `app.contract.seasonal.window_length`).
        Seasonal differencing needs a season; without one the differencing recipe
        keeps its non-seasonal part (first differences, or none).
        """
        changes: dict[str, object] = {"season_length": season_length}
        if self.pipeline == "seasonal":
            changes["look_back"] = window_length(season_length)
        elif season_length == 1:
            changes["transform"] = {
                Transform.SEASONAL_AND_FIRST_DIFFERENCE: Transform.DIFFERENCE,
                Transform.SEASONAL_DIFFERENCE: Transform.NONE,
            }.get(self.transform, self.transform)
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def spec(self) -> Pipeline:
        """The pipeline's shape before seeing data (sizes do not depend on the log rule)."""
        if self.pipeline == "seasonal":
            return SeasonalPipeline(self.look_back, self.season_length)
        return DifferencingPipeline(self.look_back, self.transform, self.season_length)

    def pipeline_for(self, train_values: np.ndarray) -> Pipeline:
        """The pipeline fitted to a training part: the log rule decided on it alone."""
        if self.pipeline == "seasonal":
            use_log = log_rule(train_values, self.season_length)
            return SeasonalPipeline(self.look_back, self.season_length, log=use_log)
        return self.spec

    def batch_for(self, windows: int) -> int:
        """The batch size for `windows` windows: the preset's, grown with many series.

        With `steps`, past `GROWTH_FROM` windows (a long single series) the batch and the
        steps both grow with the square root of the windows, so the windows seen grow in
        proportion to the data (about two passes over it) while the cost grows with the
        steps only; the batch stops at `MAX_BATCH`. A recipe given in epochs is the post's
        and keeps its batch.
        """
        if self.steps is None:
            return min(self.batch_size, windows)
        grown = round(self.batch_size * _growth(windows))
        return min(windows, max(self.batch_size, min(grown, MAX_BATCH)))

    def epochs_for(self, windows: int) -> int:
        """Passes over `windows` windows: as given, or enough for the steps (`batch_for`)."""
        if self.epochs is not None:
            return self.epochs
        assert self.steps is not None
        steps = min(MAX_STEPS, round(self.steps * _growth(windows)))
        per_epoch = math.ceil(windows / self.batch_for(windows))
        return max(1, round(steps / per_epoch))


GROWTH_FROM = 2_000  # windows; the panel's longest single series (El Nino) has about 470
MAX_BATCH = 256
MAX_STEPS = 5_000


def _growth(windows: int) -> float:
    return max(1.0, math.sqrt(windows / GROWTH_FROM))


# The post's model, kept reproducible for comparison. The one deliberate change:
# the scaler is fitted on the training part only (the post fits it on the whole
# series, which leaks the test range into training).
SEED = Preset(
    name="seed",
    pipeline="difference",
    look_back=1,
    scaler="minmax",
    units=(4,),
    epochs=100,
    batch_size=1,
    learning_rate=0.001,  # Keras' Adam default, as in the post
    test_fraction=0.33,
)

# The recommended model ("deseasonalised LSTM ensemble"): logs by rule, the causal
# seasonal index of app.contract.seasonal removed, windows of half a season taken
# relative to their last value, five LSTM(32) members averaged, a fixed 250 gradient
# steps (no early stopping: ~17 validation windows are noise). Chosen by rolling-origin
# validation inside the training parts of the four panel series, the test parts
# scored once afterwards; the README has what was tried and the figures.
DEFAULT = Preset(
    name="default",
    pipeline="seasonal",
    look_back=window_length(12),
    scaler="standard",
    units=(32,),
    steps=250,
    batch_size=16,
    learning_rate=0.001,
    test_fraction=0.33,
    members=5,
)

PRESETS: dict[str, Preset] = {p.name: p for p in (DEFAULT, SEED)}

# The M4 competition's forecast horizons (Makridakis et al. 2020): the test part many
# series hold out by default, a horizon forecasters already compare models at.
M4_HORIZONS = {
    Frequency.ANNUAL: 6,
    Frequency.QUARTERLY: 8,
    Frequency.MONTHLY: 18,
    Frequency.WEEKLY: 13,
    Frequency.DAILY: 14,
}


def default_test_periods(frequency: Frequency) -> int:
    """The periods many series hold out when `--test-periods` is not given."""
    return M4_HORIZONS[frequency]

"""What the data plane is asked and answers, in plain values: the protocols' shared vocabulary.

Every protocol (v1 JSON, the Open Inference Protocol, KServe's time-series protocol)
renders these answers in its own shape, and names a series' parts in its own terms
(`Naming`); the coalescer (`app.coalescing`) queues these questions and hands back these
answers. They live apart from `app.dataplane`, which does the work, so that the
coalescer the data plane owns and the protocols above it read them without importing
the work itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from app.evaluation import Evaluation
from app.forecaster import Band

Values = Sequence[float] | npt.NDArray[np.float64]
Levels = Sequence[float]  # interval levels in percent, each in (0, 100)
Rows = Sequence[Values] | npt.NDArray[np.float64]  # one series per row


@dataclass(frozen=True)
class Answer:
    """Which model version answered; every answer of the data plane says so."""

    model: str
    version: int


@dataclass(frozen=True)
class Forecasts(Answer):
    """The next `horizon` values of each series, in series units, with their intervals."""

    horizon: int
    values: np.ndarray  # (series, horizon), finite
    warnings: list[str] = field(default_factory=list)
    intervals: list[Band] = field(default_factory=list)  # one per level, same shape as values
    series_ids: list[str | None] | None = None  # None: no row was asked for by id
    periods: list[list[str]] | None = None  # per row its forecast periods ([]: not known)


@dataclass(frozen=True)
class Naming:
    """What errors and warnings call the parts of one posted series, in the request's terms.

    `/v1/predict` calls them `values` and `start`; V2 calls row i of its tensor `values[i]`;
    KServe's time-series protocol calls its one input `inputs`, its values `inputs.values`.
    An overflow and the warnings about the series name the series itself (`row`).
    """

    values: str = "values"
    start: str = "start"
    row: str = "values"


@dataclass(frozen=True)
class Scored(Answer):
    """A posted series' one-step forecasts, scored like training scores its test part."""

    evaluation: Evaluation
    warnings: list[str] = field(default_factory=list)

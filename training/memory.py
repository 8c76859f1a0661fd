"""How long a memory of the season a version keeps: chosen on validation, before the network.

The seasonal index mixes a short memory of the season with a long one,
S = (1 - m) S_short + m S_long (`app.contract.seasonal`). Neither alone suits every series,
measured inside the training parts of the panel (`python -m bench.memory_check`): the long
memory cut El Nino's validation error by 6 % and CO2's by 5 %, and cost milk 5 % (its
season changes year by year) and the employment panel 6 %.

The pipeline alone's forecast is linear in m: its error is e_short - m d, with
d = z_long - z_short, the same one-number least-squares problem as the network weight's
(`training.shrinkage`), solved by the same rule: w* shrunk by positive-part James-Stein,
so a series leaves the short memory only as far as the evidence holds.

The pairs are one-step forecasts of the last third of each training part, with the drift
(the mean change) fitted on the first two thirds; histories read only earlier values, so
every pair is out of sample and the test part is never read. One series gets its own m;
many get one pooled m (errors divided by each series' spread), because a version has one
pipeline and a series it never saw is forecast with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from app.contract.seasonal import SeasonalPipeline
from app.contract.series import normalisation
from training.shrinkage import least_squares, shrunk

VALIDATION = 1 / 3
"""The last share of each training part whose one-step forecasts choose m."""


def with_memory(pipeline: SeasonalPipeline, series: Sequence[np.ndarray]) -> SeasonalPipeline:
    """`pipeline` with the long memory's share chosen on `series` (training parts only)."""
    if pipeline.season_length == 1:
        return dataclasses.replace(pipeline, long_weight=0.0)
    alone, difference = [], []
    for values in series:
        log, spread = normalisation(pipeline, values)
        short = dataclasses.replace(pipeline, log=log, long_weight=0.0)
        errors = [_errors(p, values) for p in (short, dataclasses.replace(short, long_weight=1.0))]
        usable = np.isfinite(errors[0]) & np.isfinite(errors[1])
        alone.append(errors[0][usable] / spread)
        difference.append((errors[0] - errors[1])[usable] / spread)
    e0, d = np.concatenate(alone), np.concatenate(difference)
    return dataclasses.replace(pipeline, long_weight=shrunk(*least_squares(e0, d, len(e0))))


def _errors(pipeline: SeasonalPipeline, values: np.ndarray) -> np.ndarray:
    """The pipeline alone's one-step errors over the last third, in its error space.

    The forecast of z_{t+1} is S_{t+1} + u_t + drift, and `changes` gives
    z_{t+1} - S_{t+1} - u_t, so the error is the change minus the drift.
    """
    start = len(values) - int(len(values) * VALIDATION)
    fitted = pipeline.changes(values[:start])[2]
    if not len(fitted):
        return np.empty(0)
    _, targets, change = pipeline.changes(values)
    return change[targets >= start] - fitted.mean()

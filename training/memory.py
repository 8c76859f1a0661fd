"""How long a version remembers its season and its level: chosen on validation, before the network.

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

The memory of the level (`level_weight`, g: how far the forecast starts from the last
deseasonalised value towards a smoothed level of the last ten) is chosen next, with m
fixed, by the same rule on the same pairs: the pipeline alone's forecast, drift included,
is linear in g too. Inside the training parts (`python -m bench.memory_check`) it cut the
Nile's stand-in error by 11 % and CO2's by 7 %, milk's by 2 %, and left El Nino and the
employment panel where they were (g = 0).

Between the two, when the long memory is used (m > 0), f: how much of its part the flat
memory takes (40 seasons, all weighing alike: a season that does not change, which is what
SARIMA's seasonal MA of about -1 says of El Nino). Chosen with m fixed, by the same rule on
the same pairs (the forecast is linear in f too). Inside the training parts it cut El Nino's
stand-in error by 2 % (f 0.92) and left the other series and the employment panel at f = 0
(`python -m bench.memory_check`); the long memory it mixes with stays, since replacing it
with the flat one cost CO2, whose season drifts (BENCHMARKS.md, "The memory of the season").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

import numpy as np

from app.contract.seasonal import SeasonalPipeline
from app.contract.series import normalisation
from training.shrinkage import least_squares, shrunk

Share = Literal["long_weight", "flat_weight", "level_weight"]

VALIDATION = 1 / 3
"""The last share of each training part whose one-step forecasts choose m and g."""


def with_memory(pipeline: SeasonalPipeline, series: Sequence[np.ndarray]) -> SeasonalPipeline:
    """`pipeline` with its memories chosen on `series` (training parts only): m, f, then g."""
    if pipeline.season_length > 1:
        pipeline = _chosen(pipeline, series, "long_weight")
        if pipeline.long_weight:
            pipeline = _chosen(pipeline, series, "flat_weight")
    return _chosen(pipeline, series, "level_weight")


def _chosen(
    pipeline: SeasonalPipeline, series: Sequence[np.ndarray], share: Share
) -> SeasonalPipeline:
    """`pipeline` with one share (0 to 1) chosen: errors at 0 against errors at 1, shrunk."""
    alone, difference = [], []
    for values in series:
        log, spread = normalisation(pipeline, values)
        without = with_share(dataclasses.replace(pipeline, log=log), share, 0.0)
        errors = [_errors(p, values) for p in (without, with_share(without, share, 1.0))]
        usable = np.isfinite(errors[0]) & np.isfinite(errors[1])
        alone.append(errors[0][usable] / spread)
        difference.append((errors[0] - errors[1])[usable] / spread)
    e0, d = np.concatenate(alone), np.concatenate(difference)
    return with_share(pipeline, share, shrunk(*least_squares(e0, d, len(e0))))


def with_share(pipeline: SeasonalPipeline, share: Share, value: float) -> SeasonalPipeline:
    """`pipeline` with the long memory's share (m), the flat one's (f) or the level's (g)
    set to `value`."""
    if share == "long_weight":
        return dataclasses.replace(pipeline, long_weight=value)
    if share == "flat_weight":
        return dataclasses.replace(pipeline, flat_weight=value)
    return dataclasses.replace(pipeline, level_weight=value)


def _errors(pipeline: SeasonalPipeline, values: np.ndarray) -> np.ndarray:
    """The pipeline alone's one-step errors over the last third, in its error space.

    The forecast of z_{t+1} is S_{t+1} + b_t + drift, and `changes` gives
    z_{t+1} - S_{t+1} - b_t, so the error is the change minus the drift.
    """
    start = len(values) - int(len(values) * VALIDATION)
    fitted = pipeline.changes(values[:start])[2]
    if not len(fitted):
        return np.empty(0)
    _, targets, change = pipeline.changes(values)
    return change[targets >= start] - fitted.mean()

"""The window of series without a season: each candidate trained, validation deciding.

A season sets the window (half of it, at least 4 steps: `window_length`). Without one,
no length suits every series. Inside the training parts, 10 steps instead of 5 let the
network see the decade-long cycles of yearly sunspots (RMSE / SARIMA 0.748 -> 0.716)
and the lynx (0.917 -> 0.764), and cost the Nile (1.069 -> 1.133), whose level is noise
around a slow mean and whose few dozen years are too few windows for the longer one
(BENCHMARKS.md, "The window").

So the default recipe trains both and keeps the one whose calibration refits forecast
the rest of the training part better, one step ahead with the network weights each
chose: the out-of-sample pairs that choose the weight (`training.shrinkage`), from the
same origins for both windows, never the test part. Only the kept one is refitted on
all the data. A window the command line gives is not second-guessed, and a candidate
that would leave a series without a training window is not tried.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from training.fit import Fitted, Split, refitted, train
from training.plan import Plan

CANDIDATES = (5, 10)
"""Windows tried for a series without a season; the first is `window_length(1)`."""


def fit_plan(plan: Plan, seed: int, *, verbose: int = 0) -> tuple[Plan, Fitted]:
    """The plan with the window validation chose, and its version fitted."""
    values = [s.values for s in plan.panel.series.values()]
    best: tuple[float, Plan, Fitted] | None = None
    for candidate in candidates(plan):
        fitted = train(values, candidate.splits, candidate.preset, seed, verbose=verbose)
        score = validation_rmse(fitted)
        if best is None or score < best[0]:
            best = (score, candidate, fitted)
    assert best is not None  # `candidates` always holds the plan itself
    _, chosen, fitted = best
    if plan.refit:
        fitted = refitted(fitted, values, chosen.preset, seed, verbose=verbose)
    return chosen, fitted


def candidates(plan: Plan) -> list[Plan]:
    """The plan itself, and, for the default recipe without a season and a window the
    command line did not set, the same plan with each other window in `CANDIDATES`."""
    preset = plan.preset
    if (
        preset.pipeline != "seasonal"
        or preset.season_length != 1
        or plan.options.look_back is not None
        or preset.look_back != CANDIDATES[0]
    ):
        return [plan]
    found = [plan]
    for look_back in CANDIDATES[1:]:
        splits = [Split(s.n_points, s.train_size, s.train_size - look_back) for s in plan.splits]
        if all(s.windows >= 1 for s in splits):
            wider = dataclasses.replace(preset, look_back=look_back)
            found.append(dataclasses.replace(plan, preset=wider, splits=splits))
    return found


def validation_rmse(fitted: Fitted) -> float:
    """The refits' one-step RMSE with the chosen network weights, per series' spread;
    infinite without validation pairs (nothing to prefer this fit by)."""
    choice = fitted.network
    if choice is None or not choice.record.points:
        return float(np.inf)
    return choice.record.rmse_chosen

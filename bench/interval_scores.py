"""Interval scores 1..H steps ahead on the validation panel: the LSTM's against SARIMA's.

`bench.accuracy` gets each trained version's forecasts the way a client would (`lstm_paths`:
the serving loader, every test origin in one batched call, the true history before each
origin), SARIMA's from `bench.classical.sarima_steps`, scores both on the same targets
(`score_paths`) and renders the tables here: one step ahead per series and level (coverage,
mean width, Winkler score; the ratio to SARIMA's Winkler score and its geometric mean over
the panel), then the ratio and the coverage at every step 1..H. The Winkler score (width,
plus 2/alpha times any miss) ranks intervals by what they cost and how they fail at once;
coverage alone rewards needlessly wide intervals, width alone narrow ones that miss.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.contract.intervals import coverage, mean_width, winkler
from bench.classical import LEVELS, Paths

HORIZON = 12  # steps scored, or fewer when a version's intervals are calibrated for fewer
WITHIN = 0.08  # a series' coverage counts as close to nominal within 8 points


@dataclass(frozen=True)
class StepScore:
    """One level's intervals at one step h, over every test origin whose target exists."""

    coverage: float  # share of targets inside, 0 to 1
    width: float  # mean width, series units
    winkler: float  # mean Winkler score, series units
    n: int  # targets scored


Steps = dict[float, list[StepScore]]  # level -> scores at steps 1..H


@dataclass(frozen=True)
class SeriesIntervals:
    """One series' interval scores: SARIMA's, and the default's for each seed."""

    sarima: Steps
    default: list[Steps]  # one per seed, in `bench.accuracy.SEEDS` order

    def mean(self, level: float, step: int) -> StepScore:
        """The default's scores at `step` (1-based), averaged over seeds."""
        found = [seed[level][step - 1] for seed in self.default]
        return StepScore(
            statistics.mean(s.coverage for s in found),
            statistics.mean(s.width for s in found),
            statistics.mean(s.winkler for s in found),
            found[0].n,
        )

    @property
    def horizon(self) -> int:
        return min(len(s[LEVELS[0]]) for s in [self.sarima, *self.default])


def lstm_paths(version: Path, values: np.ndarray, train_size: int, horizon: int) -> Paths:
    """A version's forecasts and bands 1..`horizon` steps ahead from every test origin, served.

    Loaded by the service's own loader; every origin t is forecast from the true values
    before it (the last `history_width`), all in one batched `predict`, as a client asking
    for a horizon of `horizon` would be answered. A one-series version needs no series
    index: values posted to it are its series. `horizon` is cut to the steps the version's
    intervals are calibrated for.
    """
    from app.contract.pipeline import as_rows
    from app.forecaster import load_forecaster

    forecaster = load_forecaster(version)
    horizon = min(horizon, forecaster.interval_horizon)
    width = forecaster.pipeline.history_width
    n = len(values)
    histories = [values[max(0, t - width) : t] for t in range(train_size, n)]
    prediction = forecaster.predict(as_rows(histories, width), horizon, LEVELS, None)
    if prediction.overflow is not None:
        raise ValueError(f"{version}: origin {train_size + prediction.overflow} overflows")
    past = np.isnan(targets(values, train_size, horizon))  # target past the series' end
    mean = np.where(past, np.nan, prediction.values)
    bands = {
        band.level: (np.where(past, np.nan, band.lower), np.where(past, np.nan, band.upper))
        for band in prediction.bands
    }
    return Paths(mean, bands)


def targets(values: np.ndarray, train_size: int, horizon: int) -> np.ndarray:
    """(origins, horizon) actual values at each origin's step-h target; NaN past the end."""
    steps = np.arange(train_size, len(values))[:, np.newaxis] + np.arange(horizon)
    return np.append(values, np.nan)[np.minimum(steps, len(values))]


def score_paths(values: np.ndarray, train_size: int, paths: Paths) -> Steps:
    """Coverage, mean width and Winkler score per level and step, over the targets that exist."""
    horizon = paths.mean.shape[1]
    actual = targets(values, train_size, horizon)
    out: Steps = {}
    for level, (lower, upper) in paths.bands.items():
        out[level] = []
        for h in range(horizon):
            kept = ~np.isnan(actual[:, h])
            y, lo, hi = actual[kept, h], lower[kept, h], upper[kept, h]
            out[level].append(
                StepScore(
                    coverage(y, lo, hi), mean_width(lo, hi), winkler(y, lo, hi, level), y.size
                )
            )
    return out


def within(found: float, level: float, tolerance: float = WITHIN) -> bool:
    """Coverage `found` within `tolerance` of nominal `level` (percent), the boundary included:
    72 % is within 8 points of 80 %, whatever floating point makes of 0.72 - 0.8."""
    return abs(found - level / 100) <= tolerance + 1e-9


def geometric_mean(ratios: Sequence[float]) -> float:
    """Ratios averaged so that a ratio and its inverse weigh alike, whatever a series' scale."""
    return math.exp(statistics.mean(math.log(r) for r in ratios))


def one_step_lines(panel: Mapping[str, SeriesIntervals], seeds: Sequence[int]) -> list[str]:
    """Step 1 per series and level, the Winkler ratio's geometric mean, and the coverage check."""
    named = " / ".join(map(str, seeds))
    lines = [
        "### Intervals one step ahead: the default's against SARIMA's own",
        "",
        "SARIMA's intervals are its analytic ones (statsmodels `conf_int`, Gaussian errors);",
        "the default's are its conformal calibration's, served: each version loaded by the",
        "service's loader and asked for every test origin in one batched call. Winkler score:",
        "the mean over test points of the width plus 2/alpha times any miss, in series units",
        "(lower is better). Default columns: seeds " + named + " (their mean).",
        "",
        "| series | level | SARIMA coverage | default coverage | SARIMA width | default width"
        " | SARIMA Winkler | default Winkler | default / SARIMA Winkler |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, scores in panel.items():
        for level in LEVELS:
            ours = [seed[level][0] for seed in scores.default]
            theirs, mean = scores.sarima[level][0], scores.mean(level, 1)
            ratios = [s.winkler / theirs.winkler for s in ours]
            lines.append(
                f"| {name} | {level:g} % | {theirs.coverage:.1%} | "
                + _seeds([s.coverage for s in ours], mean.coverage, "{:.1%}")
                + f" | {_num(theirs.width)} | "
                + _seeds([s.width for s in ours], mean.width, "{:.4g}")
                + f" | {_num(theirs.winkler)} | "
                + _seeds([s.winkler for s in ours], mean.winkler, "{:.4g}")
                + " | "
                + _seeds(ratios, mean.winkler / theirs.winkler, "{:.3f}")
                + " |"
            )
    lines += [
        "",
        "| geometric mean over the panel of default / SARIMA Winkler, one step | "
        + " | ".join(f"seed {s}" for s in seeds)
        + " | seed means |",
        "|---|" + "---:|" * (len(seeds) + 1),
    ]
    for level in LEVELS:
        by_seed = [
            geometric_mean(
                [
                    s.default[k][level][0].winkler / s.sarima[level][0].winkler
                    for s in panel.values()
                ]
            )
            for k in range(len(seeds))
        ]
        means = geometric_mean(
            [s.mean(level, 1).winkler / s.sarima[level][0].winkler for s in panel.values()]
        )
        lines.append(f"| {level:g} % | " + " | ".join(f"{r:.3f}" for r in [*by_seed, means]) + " |")
    return [*lines, "", *_coverage_check(panel)]


def _coverage_check(panel: Mapping[str, SeriesIntervals]) -> list[str]:
    """Is every series' one-step coverage within `WITHIN` of nominal? Judged on the seed means;
    a series and level where the mean or any seed is outside is listed."""
    outside, failed = [], False
    for name, scores in panel.items():
        for level in LEVELS:
            found = [seed[level][0].coverage for seed in scores.default]
            mean = scores.mean(level, 1).coverage
            if all(within(c, level) for c in [*found, mean]):
                continue
            failed |= not within(mean, level)
            seeds = " / ".join(f"{c:.1%}" for c in found)
            outside.append(f"{name} {level:g} % (mean {mean:.1%}; seeds {seeds})")
    points = round(WITHIN * 100)
    claim = f"Default one-step coverage within {points} points of nominal on every series and level"
    if not outside:
        return [f"{claim}, seed means and every seed: **yes**."]
    verdict = "no" if failed else "yes, though not for every seed"
    return [f"{claim} (seed means): **{verdict}**. Outside: " + "; ".join(outside) + "."]


def step_lines(panel: Mapping[str, SeriesIntervals]) -> list[str]:
    """Per level: the Winkler ratio at every step with its geometric mean, then coverage."""
    horizon = min(s.horizon for s in panel.values())
    head = " | ".join(str(h) for h in range(1, horizon + 1))
    rule = "|---|" + "---:|" * horizon
    lines = [
        f"### Intervals 1 to {horizon} steps ahead",
        "",
        f"From every test origin t, the forecasts of t .. t + {horizon - 1} made from the values",
        "before t (the LSTM's recursive, SARIMA's a dynamic prediction with its analytic h-step",
        "intervals), scored at each step h on the targets inside the test part (step h has h - 1",
        "fewer than step 1). Default: seed means.",
    ]
    for level in LEVELS:
        lines += [
            "",
            f"Default / SARIMA Winkler score by step, {level:g} %:",
            "",
            f"| series | {head} |",
            rule,
        ]
        ratios = {
            name: [
                s.mean(level, h).winkler / s.sarima[level][h - 1].winkler
                for h in range(1, horizon + 1)
            ]
            for name, s in panel.items()
        }
        for name, row in ratios.items():
            lines.append(f"| {name} | " + " | ".join(f"{r:.2f}" for r in row) + " |")
        geometric = [geometric_mean([row[h] for row in ratios.values()]) for h in range(horizon)]
        lines.append("| **geometric mean** | " + " | ".join(f"{r:.2f}" for r in geometric) + " |")
    for level in LEVELS:
        lines += [
            "",
            f"Coverage by step, {level:g} % (nominal {level:g}), percent:",
            "",
            f"| series | {head} |",
            rule,
        ]
        for name, s in panel.items():
            ours = [s.mean(level, h).coverage for h in range(1, horizon + 1)]
            theirs = [score.coverage for score in s.sarima[level][:horizon]]
            lines.append(f"| {name} default | " + " | ".join(f"{c:.0%}"[:-1] for c in ours) + " |")
            lines.append(f"| {name} SARIMA | " + " | ".join(f"{c:.0%}"[:-1] for c in theirs) + " |")
    return lines


def _seeds(values: Sequence[float], mean: float, spec: str) -> str:
    """`a / b / c (mean)` in one cell."""
    return " / ".join(spec.format(v) for v in values) + f" ({spec.format(mean)})"


def _num(x: float) -> str:
    return f"{x:.4g}"

"""Do the conformal intervals keep their level on unseen data? Checked inside training parts.

Run as `python -m bench.calibration_check` from the project root (`--seeds 0 1`,
`--only nile`); about 5 minutes per seed here. It prints a Markdown table and
touches no file.

The product's protocol, nested inside each panel series' training part, so the
test parts stay unseen: the first 67 % of the training part plays the training
part, the rest plays the test part. The default recipe is fitted there and
calibrated exactly as training does (`training.calibrate.origins`, the same
refits), and the one-step 80 % and 95 % intervals are scored on the stand-in test
part: coverage, mean width and the Winkler score (lower is better).

Three ways to turn the refits' residuals into intervals, from the same refits:
- `absolute`: the conformal quantile of |y - ŷ| per step;
- `served`: the product's rule, `Calibration.half_widths`: the conformal quantile, capped
  above 80 % at the normal quantile of the residuals' RMS;
- `scaled`: the quantile of |y - ŷ| / sigma, times the sigma of the request's own history,
  where sigma is the mean absolute change of the deseasonalised series over its last
  max(24, 4s) points (locally weighted conformal, Lei et al. 2018): wider
  intervals where the history has been volatile, narrower where it has been calm.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from app.contract.intervals import Calibration, conformal_quantile, error_space, winkler
from app.contract.pipeline import as_rows
from app.contract.seasonal import SeasonalPipeline
from bench.accuracy import DATA, PANEL
from training.calibrate import origins
from training.data import load_series
from training.fit import Ensemble, fit_ensemble
from training.presets import DEFAULT

LEVELS = (80, 95)
METHODS = ("absolute", "served", "scaled")


@dataclass(frozen=True)
class Scores:
    coverage: float  # percent
    width: float
    winkler: float


def scale_span(pipeline: SeasonalPipeline) -> SeasonalPipeline:
    """The pipeline's deseasonalisation over a window of max(24, 4s) changes."""
    s = pipeline.season_length
    return SeasonalPipeline(max(24, 4 * s) + 1, s, pipeline.seasons, pipeline.decay, pipeline.log)


def local_scale(pipeline: SeasonalPipeline, rows: np.ndarray) -> np.ndarray:
    """sigma per history row: mean |change| of the deseasonalised series over its span."""
    span = scale_span(pipeline)
    u, _ = span.deseasonalised(rows[:, -span.history_width :])
    return np.nanmean(np.abs(np.diff(u, axis=1)), axis=1)


def one_step(fitted: Ensemble, values: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, ...]:
    """Errors |y - ŷ| in the error space and sigma of each history, one step ahead of each point."""
    pipeline = fitted.pipeline
    assert isinstance(pipeline, SeasonalPipeline)
    width = max(pipeline.history_width, scale_span(pipeline).history_width)
    rows = as_rows([values[:t] for t in points], width)
    predicted = fitted.forecast(rows, 1, np.zeros(len(rows), np.int64))[:, 0]  # one series
    space = pipeline.error_space
    errors = np.abs(error_space(values[points], space) - error_space(predicted, space))
    return errors, local_scale(pipeline, rows)


def check(name: str, seed: int) -> dict[tuple[str, int], Scores]:
    series = load_series(DATA / PANEL[name])
    preset = DEFAULT.for_season(series.frequency.season_length)
    train_part = series.values[: int(len(series.values) * (1 - preset.test_fraction))]
    cut = int(len(train_part) * (1 - preset.test_fraction))
    inner = train_part[:cut]
    final = fit_ensemble([inner], preset, seed)
    residuals: dict[str, list[float]] = {"absolute": [], "scaled": []}
    for origin in origins(cut, final.pipeline.history_length, preset.season_length):
        refit = fit_ensemble([inner[:origin]], preset, seed)
        points = np.arange(max(origin, refit.pipeline.history_length), cut)
        errors, scale = one_step(refit, inner, points)
        residuals["absolute"] += errors.tolist()
        residuals["scaled"] += (errors / scale).tolist()
    errors, scale = one_step(final, train_part, np.arange(cut, len(train_part)))
    out = {}
    absolute = sorted(residuals["absolute"])
    served = Calibration(space=final.pipeline.error_space, origins=[cut], residuals=[absolute])
    for method in METHODS:
        ranked = sorted(residuals["scaled"]) if method == "scaled" else absolute
        for level in LEVELS:
            if method == "served":
                half = served.half_widths([level], 1)[0, 0]
            else:
                half = conformal_quantile(ranked, level) * (scale if method == "scaled" else 1.0)
            half = np.broadcast_to(half, errors.shape)
            out[method, level] = Scores(
                coverage=100 * float(np.mean(errors <= half)),
                width=float(np.mean(2 * half)),
                winkler=winkler(errors, -half, half, level),
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--only", nargs="+", choices=list(PANEL), default=list(PANEL))
    args = parser.parse_args()
    header = "| series | seed | " + " | ".join(
        f"{m} {level} %: coverage, width, Winkler" for m in METHODS for level in LEVELS
    )
    print(header + " |\n|---|---:|" + "---|" * len(METHODS) * len(LEVELS))
    for name in args.only:
        for seed in args.seeds:
            scores = check(name, seed)
            cells = [
                f"{s.coverage:.1f}%, {s.width:.4g}, {s.winkler:.4g}"
                for s in (scores[m, level] for m in METHODS for level in LEVELS)
            ]
            print(f"| {name} | {seed} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()

"""Classical reference figures for the many-series protocol, and the scoring any forecaster gets.

`python -m bench.panel_accuracy [--data PATH] [--test-periods 24]` (project root) prints the
table in Markdown. The protocol is ../shared/data/README.md's "many-series panel": the last
`test_periods` distinct periods of the whole panel are every series' test part (one calendar
cutoff, so no series' future leaks into training through another series); every test point
is forecast one step ahead from the true history before it, with parameters fitted on the
points before the cutoff only (no refit). The classical forecasters are `bench.classical`'s,
run per series; as that takes minutes, `reference` caches their scores (predictions included)
by data, cutoff and code. A model of many series (the LSTM) is scored by `score_predictions`
and compared by `aggregate`, as these are.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, TypeAdapter

from app.contract.intervals import coverage, winkler
from app.contract.scoring import baselines, mae, naive_scale, rmse
from bench.classical import Bands, Fitter, auto_one_step, run_fitter, sarima_one_step
from training.panel import Panel, load_panel
from training.periods import parse_dates

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "us-employment-monthly.csv"
CACHE = Path(tempfile.gettempdir()) / "lstm-forecast-bench-panel"
PERSISTENCE, SEASONAL_NAIVE, SARIMA, AUTO_ETS = "persistence", "seasonal naive", "SARIMA", "AutoETS"
FITTED: dict[str, Fitter] = {SARIMA: sarima_one_step, AUTO_ETS: auto_one_step("AutoETS")}
LABELS = {  # the table's names; `s` is the season length
    PERSISTENCE: "persistence",
    SEASONAL_NAIVE: "seasonal naive",
    SARIMA: "SARIMA(0,1,1)(0,1,1){s}, statsmodels",
    AUTO_ETS: "AutoETS, statsforecast",
}


class IntervalScores(BaseModel):
    """One level's one-step intervals on one series' test part."""

    model_config = ConfigDict(frozen=True)

    coverage: float  # share of test points inside
    winkler: float  # mean Winkler score, series units


class SeriesScores(BaseModel):
    """One forecaster on one series' test part; the predictions are kept for later comparison."""

    model_config = ConfigDict(frozen=True)

    rmse: float
    mae: float
    mase: float  # mae / scale
    scale: float  # in-sample seasonal-naive MAE of the training part (MASE's denominator)
    predicted: list[float]
    intervals: dict[float, IntervalScores] = {}  # by level, percent
    seconds: float | None = None  # fitting and forecasting; None when not timed here


Reference = dict[str, dict[str, SeriesScores]]  # forecaster -> series id -> scores
_REFERENCE = TypeAdapter(Reference)


@dataclass(frozen=True)
class Aggregate:
    """One forecaster over the panel, in the aggregates forecasting leaderboards use."""

    mase_ratio: float  # geometric mean over series of MASE / seasonal-naive MASE
    rmse_ratio: float  # geometric mean over series of RMSE / SARIMA RMSE
    mean_mase: float
    better_than_sarima: float  # share of series with a lower RMSE than SARIMA's
    worst: tuple[str, float]  # the series with the highest RMSE / SARIMA RMSE, and that ratio
    # level -> (coverage pooled over every test point, mean Winkler score / scale over them)
    intervals: dict[float, tuple[float, float]]


def cutoff_split(panel: Panel, test_periods: int) -> dict[str, int]:
    """Training sizes at the calendar cutoff: the `test_periods` latest periods of the panel.

    Only series that can be scored are returned: those with test points and at least
    two seasons before the cutoff (fewer leave the seasonal naive and SARIMA's seasonal
    difference next to nothing to fit) that are not constant there (MASE divides by
    their seasonal-naive MAE). Every forecaster is scored on the same series.
    """
    stamps = {sid: parse_dates(pd.Series(s.periods)).to_numpy() for sid, s in panel.series.items()}
    calendar = np.unique(np.concatenate(list(stamps.values())))
    if not 0 < test_periods < len(calendar):
        raise ValueError(f"test_periods must be 1 to {len(calendar) - 1}, not {test_periods}")
    cutoff = calendar[-test_periods]
    season = panel.frequency.season_length
    sizes = {}
    for sid, series in panel.series.items():
        size = int(np.sum(stamps[sid] < cutoff))
        history = series.values[:size]
        if size < len(series.values) and size >= 2 * season and naive_scale(history, season):
            sizes[sid] = size
    if not sizes:
        raise ValueError(f"no series can be scored with {test_periods} test periods")
    return sizes


def score_predictions(
    panel: Panel,
    train_sizes: Mapping[str, int],
    predictions: Mapping[str, np.ndarray],
    bands: Mapping[str, Bands] | None = None,
) -> dict[str, SeriesScores]:
    """Scores of one-step test predictions (and their intervals), for every series of the split.

    A series of the split without predictions, or with more or fewer than its test
    points, is refused: an aggregate over other series or points would not compare.
    """
    season = panel.frequency.season_length
    out = {}
    for sid, size in train_sizes.items():
        values = panel.series[sid].values
        actual, predicted = values[size:], np.asarray(predictions.get(sid, ()), dtype=np.float64)
        if predicted.shape != actual.shape:
            raise ValueError(f"{sid!r} has {len(actual)} test points, {predicted.size} forecasts")
        scale = naive_scale(values[:size], season)
        assert scale is not None  # cutoff_split keeps only series with a scale
        intervals = {
            level: IntervalScores(
                coverage=coverage(actual, lo, hi), winkler=winkler(actual, lo, hi, level)
            )
            for level, (lo, hi) in (bands or {}).get(sid, {}).items()
        }
        error = mae(actual, predicted)
        out[sid] = SeriesScores(
            rmse=rmse(actual, predicted),
            mae=error,
            mase=error / scale,
            scale=scale,
            predicted=predicted.tolist(),
            intervals=intervals,
        )
    return out


def reference(
    panel: Panel, test_periods: int, *, cache: Path | None = CACHE, jobs: int = 2
) -> Reference:
    """Every classical forecaster's scores on every series of the split, from the cache if there.

    The cache file's name holds the data's sha256, the cutoff and a digest of the code and
    library versions that produce the figures, so a change to any of them recomputes.
    `jobs` processes fit the series in parallel; each fitter's wall time goes to stderr.
    """
    path = cache / f"{panel.sha256[:16]}-{test_periods}-{_code_digest()}.json" if cache else None
    if path is not None and path.is_file():
        return _REFERENCE.validate_json(path.read_bytes())
    sizes = cutoff_split(panel, test_periods)
    season = panel.frequency.season_length
    naive = {
        k: baselines(panel.series[k].values, np.arange(n, len(panel.series[k].values)), season)
        for k, n in sizes.items()
    }
    seasonal = {k: b.seasonal_naive for k, b in naive.items() if b.seasonal_naive is not None}
    out: Reference = {
        PERSISTENCE: score_predictions(panel, sizes, {k: b.persistence for k, b in naive.items()}),
        SEASONAL_NAIVE: score_predictions(panel, sizes, seasonal),  # all: two seasons of history
    }
    for name in FITTED:
        out[name] = _fitted(name, panel, sizes, jobs)
    if path is not None:
        from app.contract.writer import write_text_atomic

        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, _REFERENCE.dump_json(out).decode())
    return out


def _fitted(name: str, panel: Panel, sizes: dict[str, int], jobs: int) -> dict[str, SeriesScores]:
    """One fitted forecaster over every series, `jobs` series at a time, each fit timed."""
    from joblib import Parallel, delayed

    season = panel.frequency.season_length
    started = time.perf_counter()
    fitter = FITTED[name]  # a module-level function or closure: joblib pickles either
    calls = (
        delayed(run_fitter)(fitter, panel.series[k].values, n, season) for k, n in sizes.items()
    )
    runs = dict(zip(sizes, Parallel(n_jobs=jobs)(calls), strict=True))
    wall = time.perf_counter() - started
    print(f"{name}: {len(sizes)} series in {wall:.1f} s wall, {jobs} process(es)", file=sys.stderr)
    predicted = {k: run[0] for k, run in runs.items()}
    bands = {k: run[1] for k, run in runs.items() if run[1] is not None}
    scores = score_predictions(panel, sizes, predicted, bands)
    return {k: s.model_copy(update={"seconds": runs[k][2]}) for k, s in scores.items()}


def _code_digest() -> str:
    """What the figures depend on besides the data: this code and the fitting libraries."""
    digest = hashlib.sha256()
    for module in (__file__, Path(__file__).with_name("classical.py")):
        digest.update(Path(module).read_bytes())
    for package in ("numpy", "statsmodels", "statsforecast"):
        digest.update(f"{package}=={version(package)}".encode())
    return digest.hexdigest()[:12]


def aggregate(
    per_series: Mapping[str, SeriesScores],
    seasonal_naive: Mapping[str, SeriesScores],
    sarima: Mapping[str, SeriesScores],
) -> Aggregate:
    """One forecaster's scores over the series it was scored on, relative to the two references.

    Ratios per series, then their geometric mean: a series' scale then does not weigh
    on the result, and a ratio and its inverse weigh alike (Chronos Benchmark II, fev-bench).
    """
    ids = list(per_series)
    mase_ratios = [per_series[i].mase / seasonal_naive[i].mase for i in ids]
    rmse_ratios = [per_series[i].rmse / sarima[i].rmse for i in ids]
    worst = max(range(len(ids)), key=lambda k: rmse_ratios[k])
    intervals, counts = {}, [len(s.predicted) for s in per_series.values()]
    for level in sorted(set.intersection(*(set(s.intervals) for s in per_series.values()))):
        cover = [s.intervals[level].coverage for s in per_series.values()]
        scaled = [s.intervals[level].winkler / s.scale for s in per_series.values()]
        intervals[level] = (
            np.average(cover, weights=counts).item(),
            np.average(scaled, weights=counts).item(),
        )
    return Aggregate(
        mase_ratio=float(np.exp(np.mean(np.log(mase_ratios)))),
        rmse_ratio=float(np.exp(np.mean(np.log(rmse_ratios)))),
        mean_mase=float(np.mean([per_series[i].mase for i in ids])),
        better_than_sarima=float(np.mean([r < 1 for r in rmse_ratios])),
        worst=(ids[worst], rmse_ratios[worst]),
        intervals=intervals,
    )


def render(panel: Panel, test_periods: int, scores: Reference) -> str:
    """The Markdown table of every forecaster's aggregates, and SARIMA's intervals."""
    sizes = cutoff_split(panel, test_periods)
    points = sum(len(panel.series[sid].values) - size for sid, size in sizes.items())
    longest = max(sizes, key=lambda sid: len(panel.series[sid].values) - sizes[sid])
    period = panel.series[longest].periods  # its test part is the whole of the calendar's
    first, last = period[sizes[longest]], period[-1]
    season = panel.frequency.season_length
    lines = [
        f"{panel.source.name}: {len(sizes)} of {len(panel.series)} series scored, test part"
        f" {first} to {last} ({test_periods} periods, {points} points), one step ahead.",
        "",
        "| forecaster (one per series) | geometric mean of MASE / seasonal-naive MASE"
        " | geometric mean of RMSE / SARIMA RMSE | mean MASE | series better than SARIMA (RMSE)"
        " | worst series (RMSE / SARIMA RMSE) | fit + forecast, summed over series |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    summaries = {
        name: aggregate(per, scores[SEASONAL_NAIVE], scores[SARIMA]) for name, per in scores.items()
    }
    for name, agg in summaries.items():
        timed = [s.seconds for s in scores[name].values() if s.seconds is not None]
        seconds = f"{sum(timed):.1f} s" if timed else "-"
        versus = f"{agg.better_than_sarima:.1%} | {agg.worst[0]} ({agg.worst[1]:.2f})"
        lines.append(
            f"| {LABELS[name].format(s=season)} | {agg.mase_ratio:.3f} | {agg.rmse_ratio:.3f} |"
            f" {agg.mean_mase:.3f} | {'- | -' if name == SARIMA else versus} | {seconds} |"
        )
    lines += [
        "",
        "| SARIMA one-step interval | coverage, pooled over test points"
        " | mean Winkler score / in-sample seasonal-naive MAE |",
        "|---|---:|---:|",
    ]
    for level, (cover, scaled) in summaries[SARIMA].intervals.items():
        lines.append(f"| {level:g} % | {cover:.1%} | {scaled:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.panel_accuracy", description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA, help="default: %(default)s")
    parser.add_argument("--id-column", default="series_id", help="default: %(default)s")
    parser.add_argument("--test-periods", type=int, default=24, help="default: %(default)s")
    parser.add_argument("--no-cache", action="store_true", help="recompute, and store nothing")
    args = parser.parse_args(argv)
    panel = load_panel(args.data, id_column=args.id_column)
    scores = reference(panel, args.test_periods, cache=None if args.no_cache else CACHE)
    print(render(panel, args.test_periods, scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())

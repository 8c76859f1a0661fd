"""The default recipe on a many-series panel, served, against per-series SARIMA and AutoETS.

    python -m bench.panel_lstm [--data PATH] [--id-column series_id] [--test-periods 24]

Trains the `default` preset on the whole panel through the real CLI, with the panel
protocol's one calendar cutoff (`--test-periods`) and `--no-refit` (the scored weights must
never have seen the test part, so the served weights are the evaluation fit's). The
version is then loaded by the service's own loader and every test point is forecast one
step ahead from the true history before it, by series id (each series normalised as the
version recorded it), with the default 80 % and 95 % intervals: what a client would get.
Those forecasts are scored by `bench.panel_accuracy` beside the classical forecasters
(cached), and the table replaces BENCHMARKS.md's `panel-accuracy` section. Coverage is
reported pooled over every test point and, as pooling hides series whose intervals are
far too wide or too narrow, as its spread over series (`coverage_spread`).
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from app.contract.pipeline import as_rows
from app.contract.store import read_manifest
from app.forecaster import load_forecaster
from bench.classical import Bands
from bench.interval_scores import WITHIN, within
from bench.panel_accuracy import (
    CACHE,
    DATA,
    LABELS,
    SARIMA,
    SEASONAL_NAIVE,
    SeriesScores,
    aggregate,
    cutoff_split,
    reference,
    render,
    score_predictions,
)
from bench.report import write_section
from training.panel import Panel, load_panel
from training.report import HURTS

LSTM = "LSTM"
ALONE = "pipeline alone"
LEVELS = (80.0, 95.0)
PERCENTILES = (10, 25, 50, 75, 90)
WITHIN_SERIES = WITHIN  # a series' coverage counts as close to nominal within 8 points
WITHIN_POOLED = 0.03  # and the pooled coverage within 3
ROOT = Path(__file__).resolve().parents[1]


def train(data: Path, id_column: str, test_periods: int, models: Path) -> tuple[Path, float]:
    """The CLI's version directory, and the whole command's wall seconds."""
    command = [
        sys.executable, "-m", "training", "--data", str(data), "--id-column", id_column,
        "--test-periods", str(test_periods), "--no-refit", "--name", "panel",
        "--models-dir", str(models), "--quiet",
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"training failed: {done.stderr.strip()}")
    print(done.stdout.strip(), file=sys.stderr)
    return Path(done.stdout.split()[-1]), seconds


def served(
    version: Path, panel: Panel, sizes: dict[str, int]
) -> tuple[dict[str, np.ndarray], dict[str, Bands], dict[str, np.ndarray]]:
    """Every test point forecast one step ahead by id, from the true history, as served; and
    by the version's pipeline alone (its network left out), on the same points."""
    forecaster = load_forecaster(version)
    table = forecaster.series
    assert table is not None
    width = forecaster.pipeline.history_width
    histories, rows, owners = [], [], []
    for sid, size in sizes.items():
        values = panel.series[sid].values
        for t in range(size, len(values)):
            histories.append(values[max(0, t - width) : t])
            owners.append(sid)
        rows += [table.index[sid]] * (len(values) - size)
    matrix, series = as_rows(histories, width), np.array(rows)
    prediction = forecaster.predict(matrix, 1, LEVELS, series)
    without = forecaster.forecast_without_network(matrix, 1, series)
    assert without is not None  # the default recipe's pipeline forecasts alone
    owner = np.array(owners)
    points = {sid: prediction.values[owner == sid, 0] for sid in sizes}
    alone = {sid: without[owner == sid, 0] for sid in sizes}
    bands: dict[str, Bands] = {
        sid: {
            band.level: (band.lower[owner == sid, 0], band.upper[owner == sid, 0])
            for band in prediction.bands
        }
        for sid in sizes
    }
    return points, bands, alone


def coverage_spread(
    per_series: Mapping[str, SeriesScores], level: float
) -> tuple[list[float], float, float]:
    """`PERCENTILES` of the series' one-step coverage at `level`, the share of series within
    `WITHIN_SERIES` of nominal (whether the pooled figure is every series' or an average of
    series far off both ways), and the share expected of exactly calibrated intervals.

    The last is the yardstick: with 24 test points a series' coverage of a perfect 80 %
    interval is binomial, 8 points off or more about a third of the time.
    """
    found = np.array([s.intervals[level].coverage for s in per_series.values()])
    spread = np.percentile(found, PERCENTILES).tolist()
    close = float(np.mean([within(c, level, WITHIN_SERIES) for c in found]))
    points = [len(s.predicted) for s in per_series.values()]
    return spread, close, float(np.mean([_calibrated_share(n, level) for n in points]))


def _calibrated_share(n: int, level: float) -> float:
    """P(a Binomial(n, level) share of hits is within `WITHIN_SERIES` of level): how often an
    exactly calibrated interval's coverage on n points is close to nominal."""
    p = level / 100
    return sum(
        math.comb(n, k) * p**k * (1 - p) ** (n - k)
        for k in range(n + 1)
        if within(k / n, level, WITHIN_SERIES)
    )


def coverage_lines(
    scores: Mapping[str, Mapping[str, SeriesScores]], pooled: Mapping[float, float]
) -> list[str]:
    """The per-series coverage table (each forecaster with intervals) and the pooled verdict.

    `pooled` is the LSTM's coverage over every test point, by level.
    """
    named = " / ".join(f"P{p}" for p in PERCENTILES)
    lines = [
        f"| one-step interval | coverage by series: {named} | series within"
        f" {WITHIN_SERIES * 100:.0f} points of nominal | expected of exact intervals |",
        "|---|---|---:|---:|",
    ]
    for level in LEVELS:
        for name, per_series in scores.items():
            spread, close, expected = coverage_spread(per_series, level)
            cells = " / ".join(f"{c:.1%}" for c in spread)
            lines.append(f"| {name} {level:g} % | {cells} | {close:.1%} | {expected:.1%} |")
    verdicts = [
        f"{level:g} % {'yes' if within(c, level, WITHIN_POOLED) else 'no'} ({c:.1%})"
        for level, c in pooled.items()
    ]
    return [
        *lines,
        "",
        f"LSTM coverage pooled over every test point within {WITHIN_POOLED * 100:.0f} points of"
        f" nominal: {', '.join(verdicts)}.",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.panel_lstm", description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA, help="default: %(default)s")
    parser.add_argument("--id-column", default="series_id", help="default: %(default)s")
    parser.add_argument("--test-periods", type=int, default=24, help="default: %(default)s")
    parser.add_argument("--version", type=Path, help="score this version instead of training")
    args = parser.parse_args(argv)
    panel = load_panel(args.data, id_column=args.id_column)
    sizes = cutoff_split(panel, args.test_periods)
    scores = reference(panel, args.test_periods, cache=CACHE)
    with tempfile.TemporaryDirectory(prefix="panel-lstm-") as tmp:
        version, seconds = (
            (args.version, float("nan"))
            if args.version
            else train(args.data, args.id_column, args.test_periods, Path(tmp))
        )
        points, bands, alone = served(version, panel, sizes)
        choice = read_manifest(version).training.network
    scores[LSTM] = score_predictions(panel, sizes, points, bands)
    scores[ALONE] = score_predictions(panel, sizes, alone)
    LABELS[LSTM] = "LSTM `default`, one global model, served by id"
    LABELS[ALONE] = "its pipeline alone (the same version, network output 0)"
    against = np.array([scores[LSTM][sid].rmse / scores[ALONE][sid].rmse for sid in sizes])
    table = render(panel, args.test_periods, scores)
    ours = aggregate(scores[LSTM], scores[SEASONAL_NAIVE], scores[SARIMA])
    theirs = aggregate(scores[SARIMA], scores[SEASONAL_NAIVE], scores[SARIMA])
    lines = [
        f"`python -m bench.panel_lstm --test-periods {args.test_periods}` (`make"
        f" bench-accuracy`): the whole training CLI took {seconds:.0f} s on this machine.",
        "",
        table,
        "",
        "The network against its own pipeline: geometric mean over series of LSTM RMSE /"
        f" pipeline-alone RMSE **{np.exp(np.mean(np.log(against))):.3f}**; the network hurts"
        f" (ratio above {HURTS}) on {np.mean(against > HURTS):.1%} of series, helps (below"
        f" {2 - HURTS:.2f}) on {np.mean(against < 2 - HURTS):.1%}. Network weights"
        + (
            f" per series {choice.series_weights[0]:.2f} to {choice.series_weights[2]:.2f}"
            f" (median {choice.series_weights[1]:.2f}; the pipeline alone for"
            f" {choice.series_without_network:.1%} of series; pooled, for series the version"
            f" never saw, {choice.weight:.3f}), chosen on {choice.points:,} validation"
            " forecasts inside the training parts (validation RMSE per spread: alone"
            f" {choice.rmse_alone:.4f}, whole network {choice.rmse_network:.4f}, chosen"
            f" {choice.rmse_chosen:.4f})."
            if choice is not None
            else ": none recorded."
        ),
        "",
        "| one-step interval | LSTM coverage | LSTM Winkler / scale | SARIMA coverage"
        " | SARIMA Winkler / scale |",
        "|---|---:|---:|---:|---:|",
    ]
    for level in LEVELS:
        (c1, w1), (c2, w2) = ours.intervals[level], theirs.intervals[level]
        lines.append(f"| {level:g} % | {c1:.1%} | {w1:.3f} | {c2:.1%} | {w2:.3f} |")
    lines += [
        "",
        *coverage_lines(
            {LSTM: scores[LSTM], SARIMA: scores[SARIMA]},
            {level: ours.intervals[level][0] for level in LEVELS},
        ),
    ]
    print("\n".join(lines))
    write_section("panel-accuracy", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())

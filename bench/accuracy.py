"""Accuracy benchmark on the milk series: LSTM presets against ETS, SARIMA and naive baselines.

Run as `make bench-accuracy` (or `python bench/accuracy.py` from the project root).
It trains the `seed` preset once and the `default` preset with seeds 0, 1, 2
through the real CLI (into a temporary models directory), fits ETS and
SARIMA(0,1,1)(0,1,1)12 on the same training part, scores everything one step
ahead on the same test points, and rewrites only its own section of BENCHMARKS.md.

The classical models are scored as the LSTM is: parameters fitted on the training
part once, then run over the test part with those parameters fixed, each forecast
made from the true values before it. No refit, no peeking.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "monthly-milk-production-pounds-p.csv"
BENCHMARKS = ROOT / "BENCHMARKS.md"
START, END = "<!-- accuracy:start -->", "<!-- accuracy:end -->"
SEASON = 12
DEFAULT_SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class Score:
    """One forecaster on the test points; times are None for forecasters that do not train."""

    rmse: float
    mae: float
    fit_seconds: float | None = None
    cli_seconds: float | None = None  # the whole `python -m training` process


def main() -> int:
    if not DATA.is_file():
        print(f"accuracy: error: the milk series is not at {DATA}", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))  # run as a script: make `app` and `training` importable
    from training.data import load_series

    with tempfile.TemporaryDirectory(prefix="bench-accuracy-") as tmp:
        seed_run, libraries, train_size = train_lstm("seed", 0, Path(tmp))
        default_runs = [train_lstm("default", s, Path(tmp))[0] for s in DEFAULT_SEEDS]
    values = load_series(DATA).values
    others = classical(values, train_size)
    section = render(seed_run, default_runs, others, libraries, (train_size, len(values)))
    update_benchmarks(section)
    print(section)
    return 0


def train_lstm(preset: str, seed: int, models: Path) -> tuple[Score, dict[str, str], int]:
    """Train one preset and seed through `python -m training`, as a user would."""
    from app.contract.store import read_manifest

    name = f"milk-{preset}-{seed}"
    command = [sys.executable, "-m", "training", "--data", str(DATA), "--preset", preset]
    command += ["--seed", str(seed), "--name", name, "--models-dir", str(models), "--quiet"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    cli_seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"accuracy: training {name} failed:\n{done.stderr}")
    print(f"{name}: " + " | ".join(done.stdout.splitlines()), file=sys.stderr)
    manifest = read_manifest(models / name / "1")
    test = manifest.metrics.test
    score = Score(test.rmse, test.mae, manifest.training.wall_seconds, cli_seconds)
    return score, manifest.libraries, manifest.data.train_points


def classical(values: np.ndarray, train_size: int) -> dict[str, Score]:
    """ETS, SARIMA and the two naive baselines, one step ahead on the points from train_size on."""
    from app.contract.scoring import baselines, mae, rmse

    actual = values[train_size:]
    scores = {}
    for label, forecaster in (
        ("ETS (Holt-Winters, additive trend and season)", ets_one_step),
        ("SARIMA(0,1,1)(0,1,1)12", sarima_one_step),
    ):
        started = time.perf_counter()
        predicted = forecaster(values, train_size)
        seconds = time.perf_counter() - started
        scores[label] = Score(rmse(actual, predicted), mae(actual, predicted), seconds)
    naive = baselines(values, np.arange(train_size, len(values)), SEASON)
    for label, guess in (
        ("persistence", naive.persistence),
        ("seasonal naive", naive.seasonal_naive),
    ):
        assert guess is not None
        scores[label] = Score(rmse(actual, guess), mae(actual, guess))
    return scores


def ets_one_step(values: np.ndarray, train_size: int) -> np.ndarray:
    """Fit Holt-Winters on the training part, then filter the whole series with those parameters.

    Fitted values of a model whose initial states and smoothing parameters are
    fixed to the training fit are exactly one-step forecasts from the true past.
    """
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    options: dict[str, Any] = {"trend": "add", "seasonal": "add", "seasonal_periods": SEASON}
    fit = ExponentialSmoothing(values[:train_size], **options).fit()
    p = fit.params
    fixed = ExponentialSmoothing(
        values,
        initialization_method="known",
        initial_level=p["initial_level"],
        initial_trend=p["initial_trend"],
        initial_seasonal=p["initial_seasons"],
        **options,
    ).fit(
        smoothing_level=p["smoothing_level"],
        smoothing_trend=p["smoothing_trend"],
        smoothing_seasonal=p["smoothing_seasonal"],
        optimized=False,
    )
    return np.asarray(fixed.fittedvalues)[train_size:]


def sarima_one_step(values: np.ndarray, train_size: int) -> np.ndarray:
    """The airline model fitted on the training part; the test part appended without refitting."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; the fit is checked by its score
        model = SARIMAX(values[:train_size], order=(0, 1, 1), seasonal_order=(0, 1, 1, SEASON))
        extended = model.fit(disp=False).append(values[train_size:], refit=False)
    return np.asarray(extended.predict(start=train_size, end=len(values) - 1))


def render(
    seed_run: Score,
    default_runs: list[Score],
    others: dict[str, Score],
    libraries: dict[str, str],
    split: tuple[int, int],
) -> str:
    """The BENCHMARKS.md section, delimited so that reruns replace only it."""
    rmses = [r.rmse for r in default_runs]
    maes = [r.mae for r in default_runs]
    fits = [r.fit_seconds or 0.0 for r in default_runs]
    clis = [r.cli_seconds or 0.0 for r in default_runs]
    train_size, n_points = split
    mean_time = f"{statistics.mean(fits):.1f} s fit, {statistics.mean(clis):.1f} s CLI (mean)"
    rows = [
        ("LSTM `seed` preset (the post's model), seed 0", *_cells(seed_run)),
        (
            "**LSTM `default` preset, mean ± sd (min to max) over seeds 0, 1, 2**",
            f"**{_spread(rmses)}**",
            _spread(maes),
            mean_time,
        ),
        *(
            (f"LSTM `default` preset, seed {s}", *_cells(r))
            for s, r in zip(DEFAULT_SEEDS, default_runs, strict=True)
        ),
        *((label, *_cells(score)) for label, score in others.items()),
    ]
    table = ["| forecaster | test RMSE | test MAE | training wall time |", "|---|---|---|---|"]
    table += [f"| {' | '.join(row)} |" for row in rows]
    versions = ", ".join(f"{k} {v}" for k, v in libraries.items())
    return "\n".join(
        [
            START,
            "## Accuracy",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}; {versions}.",
            "",
            "Command: `make bench-accuracy` (runs `python bench/accuracy.py`).",
            "",
            f"Series: monthly milk production, {n_points} months; training part = the first "
            f"{train_size}, test part = the last {n_points - train_size}.",
            "Every forecaster predicts each test month one step ahead from the true values",
            "before it, with parameters fitted on the training part only (no refit); ETS and",
            "SARIMA are statsmodels models fitted on the same training part. Units: pounds per",
            "cow. Training wall time: `fit` = building and fitting the network (manifest",
            "`wall_seconds`); `CLI` = the whole `python -m training` process, imports and",
            "writing the model directory included. The machine may be shared: times are noisy.",
            "",
            *table,
            END,
        ]
    )


def _cells(score: Score) -> tuple[str, str, str]:
    return f"{score.rmse:.2f}", f"{score.mae:.2f}", _time(score)


def _spread(xs: list[float]) -> str:
    return (
        f"{statistics.mean(xs):.2f} ± {statistics.stdev(xs):.2f} ({min(xs):.2f} to {max(xs):.2f})"
    )


def _time(score: Score) -> str:
    if score.fit_seconds is None:
        return "-"
    if score.cli_seconds is None:
        return f"{score.fit_seconds:.1f} s fit"
    return f"{score.fit_seconds:.1f} s fit, {score.cli_seconds:.1f} s CLI"


def machine() -> str:
    """CPU model and core count, as far as the OS tells."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        lines = cpuinfo.read_text().splitlines()
        names = [ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")]
        model = names[0] if names else model
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, CPU only"


def update_benchmarks(section: str) -> None:
    """Replace this benchmark's delimited section (or append it), leaving the rest untouched."""
    from app.contract.writer import write_text_atomic

    text = BENCHMARKS.read_text(encoding="utf-8") if BENCHMARKS.exists() else "# Benchmarks\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        text = before + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    write_text_atomic(BENCHMARKS, text)


if __name__ == "__main__":
    sys.exit(main())

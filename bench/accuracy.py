"""Accuracy on the validation panel: the default recipe against classical forecasters.

Run as `make bench-accuracy` (or `python -m bench.accuracy` from the project root;
`--only milk` for one series). For each panel series in ../shared/data/ (milk, CO2,
El Niño, Nile), it trains the `default` preset with seeds 0, 1 and 2 through the real
CLI (into a temporary models directory), reads each version's manifest (test RMSE,
MAE, MASE, interval coverage and width, training time), loads each version with the
service's loader to score its intervals 1..12 steps ahead against SARIMA's
(`bench.interval_scores`), scores the comparison forecasters of `bench.classical` on the
same test points, and rewrites only its own section of BENCHMARKS.md. The `seed` preset
(the post's model) runs on milk. About 15 minutes here.

The protocol is the product's: the test part is the last 33 %, every test point is
forecast one step ahead from the true values before it, everything is fitted on the
training part only, no refit. Training runs with `--no-refit`, so the version on disk is
the evaluation fit that made the manifest's scores (a default run would serve a refit on
all the data, test part included, which must not be scored on that part).
"""

from __future__ import annotations

import math
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from app.contract.scoring import rmse
from bench.classical import Result, classical, sarima_steps
from bench.interval_scores import (
    HORIZON,
    SeriesIntervals,
    Steps,
    lstm_paths,
    one_step_lines,
    score_paths,
    step_lines,
    targets,
)

ROOT = Path(__file__).resolve().parents[1]

DATA = ROOT.parent / "shared" / "data"
BENCHMARKS = ROOT / "BENCHMARKS.md"
START, END = "<!-- accuracy:start -->", "<!-- accuracy:end -->"
SEEDS = (0, 1, 2)
PANEL = {
    "milk": "monthly-milk-production-pounds-p.csv",
    "co2": "co2-mauna-loa-monthly.csv",
    "elnino": "elnino-sea-surface-temperature-monthly.csv",
    "nile": "nile-annual-flow.csv",
}


@dataclass(frozen=True)
class Run:
    """One training run of the LSTM through the CLI, as its manifest reports it."""

    result: Result
    fit_seconds: float  # every fit, calibration refits included (manifest wall_seconds)
    cli_seconds: float  # the whole `python -m training` process
    horizon: int  # steps its intervals are calibrated for
    alone: float | None  # test RMSE of its pipeline without the network (None: it has none)
    weight: float | None  # the network weight training chose (None: no choice made)
    validation: tuple[float, float, float] | None  # validation RMSE: alone, network, chosen
    version: Path  # its version directory, alive until the temporary models directory goes
    winkler: dict[float, float]  # level -> one-step Winkler score on the test part
    step_rmse: tuple[float, ...]  # test RMSE 1..H steps ahead, the manifest's backtest


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    only = args[args.index("--only") + 1].split(",") if "--only" in args else list(PANEL)
    missing = [PANEL[n] for n in only if not (DATA / PANEL[n]).is_file()]
    if missing:
        print(f"accuracy: error: not in {DATA}: {', '.join(missing)}", file=sys.stderr)
        return 2
    from training.data import load_series

    rows: dict[str, tuple[dict[str, Result], list[Run], Run | None, tuple[int, int]]] = {}
    intervals: dict[str, SeriesIntervals] = {}
    differ: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-accuracy-") as tmp:
        for name in only:
            csv = DATA / PANEL[name]
            series = load_series(csv)
            season = series.frequency.season_length
            n = len(series.values)
            train_size = int(n * (1 - 0.33))
            runs = [train(csv, name, "default", seed, Path(tmp)) for seed in SEEDS]
            post = train(csv, name, "seed", 0, Path(tmp)) if name == "milk" else None
            others = classical(series.values, train_size, season)
            rows[name] = (others, runs, post, (train_size, n))
            intervals[name], found = score_intervals(
                series.values, train_size, season, runs, others
            )
            differ += [f"{name}, {text}" for text in found]
            for text in found:
                print(f"accuracy: warning: {name}, {text}", file=sys.stderr)
            print(f"{name}: default {[round(r.result.rmse, 3) for r in runs]}", file=sys.stderr)
    section = render(rows, intervals, differ)
    update_benchmarks(section)
    print(section)
    return 0


def train(csv: Path, name: str, preset: str, seed: int, models: Path) -> Run:
    """Train one preset and seed through `python -m training`, as a user would."""
    from app.contract.store import list_versions, read_manifest

    label = f"{name}-{preset}-{seed}"
    command = [sys.executable, "-m", "training", "--data", str(csv), "--preset", preset]
    command += ["--seed", str(seed), "--name", label, "--models-dir", str(models), "--quiet"]
    command += ["--no-refit"]  # the version scored must be the one that never saw the test part
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    cli_seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"accuracy: training {label} failed:\n{done.stderr}")
    version = models / label / str(list_versions(models / label)[-1])
    manifest = read_manifest(version)
    test = manifest.metrics.test
    cover = {s.level: (s.coverage, s.mean_width) for s in manifest.metrics.intervals}
    result = Result(test.rmse, test.mae, test.mase, manifest.training.wall_seconds, cover)
    horizon = manifest.intervals.horizon if manifest.intervals else 0
    alone = manifest.metrics.baselines.get("pipeline_alone")
    choice = manifest.training.network
    return Run(
        result,
        manifest.training.wall_seconds,
        cli_seconds,
        horizon,
        alone=None if alone is None else alone.rmse,
        weight=None if choice is None else choice.weight,
        validation=None
        if choice is None
        else (choice.rmse_alone, choice.rmse_network, choice.rmse_chosen),
        version=version,
        winkler={s.level: s.winkler for s in manifest.metrics.intervals},
        step_rmse=tuple(s.rmse for s in manifest.metrics.steps),
    )


def score_intervals(
    values: np.ndarray, train_size: int, season: int, runs: list[Run], others: dict[str, Result]
) -> tuple[SeriesIntervals, list[str]]:
    """The default's intervals 1..H steps ahead (each seed's version, served) and SARIMA's,
    and where they differ from what was reported on the same points (`check_reported`).

    H is `HORIZON`, or fewer when a version's intervals are calibrated for fewer steps.
    A difference would mean these are not the forecasts the manifest scored; it is printed
    in the section rather than stopping a quarter of an hour of training.
    """
    default = [lstm_paths(run.version, values, train_size, HORIZON) for run in runs]
    horizon = min(paths.mean.shape[1] for paths in default)
    sarima = sarima_steps(values, train_size, season, horizon)
    found = SeriesIntervals(
        sarima=score_paths(values, train_size, sarima),
        default=[score_paths(values, train_size, paths) for paths in default],
    )
    airline = next(v for k, v in others.items() if "ARIMA(0,1,1)" in k)
    actual = targets(values, train_size, horizon)
    differ = check_reported("SARIMA", found.sarima, airline.coverage, {}, actual, sarima.mean, ())
    for seed, steps, run, paths in zip(SEEDS, found.default, runs, default, strict=True):
        cover, reported = run.result.coverage, run.step_rmse
        differ += check_reported(
            f"seed {seed}", steps, cover, run.winkler, actual, paths.mean, reported
        )
    return found, differ


def check_reported(
    label: str,
    steps: Steps,
    cover: dict[float, tuple[float, float]],
    winklers: dict[float, float],
    actual: np.ndarray,
    mean: np.ndarray,
    step_rmse: tuple[float, ...],
) -> list[str]:
    """Where step 1's coverage, width and Winkler score, and each step's RMSE, are not the
    reported ones (those given), to 1e-6: the paths scored must be the forecasts reported."""
    found: list[tuple[str, float, float]] = []
    for level, (coverage, width) in cover.items():
        step = steps[level][0]
        found += [(f"{level:g} % coverage", step.coverage, coverage)]
        found += [(f"{level:g} % width", step.width, width)]
        if level in winklers:
            found += [(f"{level:g} % Winkler", step.winkler, winklers[level])]
    for h, reported in enumerate(step_rmse[: mean.shape[1]]):
        known = ~np.isnan(actual[:, h])
        found += [(f"step {h + 1} RMSE", rmse(actual[known, h], mean[known, h]), reported)]
    return [
        f"{label}: {what} {ours:.6g} served, {theirs:.6g} reported"
        for what, ours, theirs in found
        if not math.isclose(ours, theirs, rel_tol=1e-6, abs_tol=1e-9)
    ]


def render(
    rows: dict[str, tuple[dict[str, Result], list[Run], Run | None, tuple[int, int]]],
    intervals: dict[str, SeriesIntervals],
    differ: list[str],
) -> str:
    """The BENCHMARKS.md section, delimited so that reruns replace only it."""
    summary = [
        "| series | test points | default RMSE, seeds 0 / 1 / 2 (mean) | SARIMA RMSE |"
        " default / SARIMA | 80 % coverage | 95 % coverage | training, whole CLI |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    ratios: list[float] = []
    detail: list[str] = []
    for name, (others, runs, post, (train_size, n)) in rows.items():
        airline = next(v for k, v in others.items() if "ARIMA(0,1,1)" in k)
        mean = statistics.mean(r.result.rmse for r in runs)
        ratios.append(mean / airline.rmse)
        cov80 = statistics.mean(r.result.coverage[80.0][0] for r in runs)
        cov95 = statistics.mean(r.result.coverage[95.0][0] for r in runs)
        clis = [r.cli_seconds for r in runs]
        summary.append(
            f"| {name} | {n - train_size} | "
            + " / ".join(_num(r.result.rmse) for r in runs)
            + f" ({_num(mean)}) | {_num(airline.rmse)} | {mean / airline.rmse:.3f} |"
            f" {cov80:.1%} | {cov95:.1%} | {statistics.mean(clis):.0f} s |"
        )
        detail += _series_table(name, others, runs, post, (train_size, n))
    geometric = math.exp(statistics.mean(math.log(r) for r in ratios))
    return "\n".join(
        [
            START,
            "## Accuracy",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; command: `make bench-accuracy`.",
            "",
            "The validation panel of `../shared/data/`, on the product's protocol: the test part",
            "is the last 33 % of each series, every test point is forecast one step ahead from",
            "the true values before it, everything is fitted on the training part only (no",
            "refit). The LSTM is the `default` preset through the real CLI (`--no-refit`: the",
            "version written is the one scored); coverage is the share of test points inside",
            "the one-step interval (nominal 80 % and 95 %), from the version's own conformal",
            "calibration. Training time is the whole CLI (imports, the final fit, three",
            "calibration refits, scoring, writing), on this 2-core machine.",
            "",
            *summary,
            "",
            f"**Geometric mean over the panel of default RMSE / SARIMA RMSE: {geometric:.4f}**"
            " (seed means; the target was at most 1.0, with no series above 1.15).",
            "",
            *one_step_lines(intervals, SEEDS),
            "",
            "The served forecasts give back the manifests' one-step coverage, width and Winkler"
            " score and their RMSE at every step, and SARIMA's one-step bands those of its"
            " one-step table (to 1e-6): "
            + ("**yes**." if not differ else "**no**: " + "; ".join(differ) + "."),
            "",
            *step_lines(intervals),
            "",
            *_network_table(rows),
            "",
            *detail,
            END,
        ]
    )


def _network_table(
    rows: dict[str, tuple[dict[str, Result], list[Run], Run | None, tuple[int, int]]],
) -> list[str]:
    """Does the network earn its place? The default against its own pipeline without it."""
    lines = [
        "### The network against its own pipeline alone",
        "",
        "The pipeline alone is the served forecaster with the network's output replaced by 0",
        "(the seasonal index, the anchor: the last deseasonalised value or part of the way to",
        "the level, the mean change), scored on the same test points. The weight is the share",
        "of the network's correction the version uses, chosen on the calibration refits'",
        "one-step forecasts inside the training part (`training.shrinkage`); the validation",
        "RMSEs are in the error space, per spread.",
        "",
        "| series | seed | network weight | validation RMSE: alone / network / chosen |"
        " test RMSE | pipeline alone | default / alone |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    by_seed: dict[int, list[float]] = {seed: [] for seed in SEEDS}
    for name, (_, runs, _, _) in rows.items():
        for seed, run in zip(SEEDS, runs, strict=True):
            if run.alone is None or run.validation is None or run.weight is None:
                continue
            ratio = run.result.rmse / run.alone
            by_seed[seed].append(ratio)
            checked = " / ".join(f"{x:.4g}" for x in run.validation)
            lines.append(
                f"| {name} | {seed} | {run.weight:.2f} | {checked} | {_num(run.result.rmse)} |"
                f" {_num(run.alone)} | {ratio:.3f} |"
            )
    for seed, ratios in by_seed.items():
        if ratios:
            geometric = math.exp(statistics.mean(math.log(r) for r in ratios))
            lines.append(
                f"\nSeed {seed}: geometric mean of default / pipeline alone **{geometric:.3f}**,"
                f" highest {max(ratios):.3f} (targets: at most 0.97, and 1.01 on every series)."
            )
    return lines


def _series_table(
    name: str,
    others: dict[str, Result],
    runs: list[Run],
    post: Run | None,
    split: tuple[int, int],
) -> list[str]:
    train_size, n = split
    lines = [
        f"### {name}: {n} points, {train_size} to train, {n - train_size} to test",
        "",
        "| forecaster | test RMSE | MAE | MASE | 80 % coverage (width) | 95 % coverage (width) |"
        " fit time |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    labelled = [(f"LSTM `default`, seed {s}", r.result) for s, r in zip(SEEDS, runs, strict=True)]
    if post is not None:
        labelled.append(("LSTM `seed` preset (the post's model), seed 0", post.result))
    for label, r in [*labelled, *others.items()]:
        bands = [
            f"{r.coverage[lvl][0]:.1%} ({_num(r.coverage[lvl][1])})" if lvl in r.coverage else "-"
            for lvl in (80.0, 95.0)
        ]
        seconds = f"{r.seconds:.1f} s" if r.seconds is not None else "-"
        lines.append(
            f"| {label} | {_num(r.rmse)} | {_num(r.mae)} | "
            f"{'-' if r.mase is None else f'{r.mase:.3f}'} | {bands[0]} | {bands[1]} | {seconds} |"
        )
    return [*lines, ""]


def _num(x: float) -> str:
    """Four significant figures: 6.761, 0.3046, 129.3."""
    return f"{x:.4g}"


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

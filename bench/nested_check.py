"""The default recipe as a user trains it, scored inside each panel series' training part.

Run as `python -m bench.nested_check` from the project root (`--seeds 0 1`, `--only nile`,
`--json out.json`); about a minute per series and seed. It prints a Markdown table and
touches no file but `--json`'s.

The protocol of `bench.calibration_check`, nested inside each training part so the test
parts stay unseen: the first 67 % of a panel series' training part is written out as a
series of its own, and the default preset is trained on it through the CLI
(`bench.accuracy.train`: `--no-refit`), which holds out its last 33 % as its test part,
as it does for every series. So the stand-in test part is the last third of the real
training part, and a change to training (a rule for the intervals, a memory, a network
weight) is judged on it whole, with everything training chooses chosen as it would be.
SARIMA, fitted on the same stand-in training part, is scored on the same points.

The intervals are also scored 1..12 steps ahead, as `bench.accuracy` scores the test parts:
each version served from every stand-in test origin (`bench.interval_scores.lstm_paths`),
SARIMA's dynamic forecasts with their analytic h-step bands on the same targets; the second
table gives the default's Winkler score over SARIMA's at every step (the seeds' mean).

Compare two versions of the code by running it on each, the same seeds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.accuracy import DATA, PANEL, train
from bench.classical import LEVELS, classical, sarima_steps
from bench.interval_scores import HORIZON, Steps, lstm_paths, score_paths
from training.data import load_series
from training.presets import DEFAULT

STAND_IN = 0.67  # of the training part: what plays the training part


def check(name: str, seeds: list[int], workdir: Path) -> dict[str, Any]:
    """The stand-in's SARIMA scores and, per seed, the default's."""
    csv = DATA / PANEL[name]
    series = load_series(csv)
    lines = [line for line in csv.read_text().splitlines() if line.strip()]
    cut = int(len(series.values) * STAND_IN)  # the real training part's first two thirds
    inner = workdir / f"{name}.csv"
    inner.write_text("\n".join(lines[: cut + 1]) + "\n")  # the header, then `cut` rows
    values = series.values[:cut]
    season = series.frequency.season_length
    train_size = int(len(values) * (1 - DEFAULT.test_fraction))  # the CLI's split of the stand-in
    found = classical(values, train_size, season)
    sarima = next(r for label, r in found.items() if label.startswith(("SARIMA", "ARIMA")))
    runs: list[dict[str, Any]] = []
    paths = []
    for seed in seeds:
        run = train(inner, name, "default", seed, workdir)
        result = run.result
        paths.append(lstm_paths(run.version, values, train_size, HORIZON))
        runs.append(
            {"seed": seed, "rmse": result.rmse, "winkler": run.winkler, "coverage": result.coverage}
        )
    horizon = min(p.mean.shape[1] for p in paths)
    theirs = score_paths(values, train_size, sarima_steps(values, train_size, season, horizon))
    for scores, own in zip(runs, paths, strict=True):
        scores["steps"] = _by_step(score_paths(values, train_size, own), horizon)
    return {
        "sarima_rmse": sarima.rmse,
        "sarima_coverage": sarima.coverage,
        "sarima_steps": _by_step(theirs, horizon),
        "runs": runs,
    }


def _by_step(steps: Steps, horizon: int) -> dict[float, list[tuple[float, float]]]:
    """(Winkler score, coverage) per level at steps 1..horizon."""
    return {level: [(s.winkler, s.coverage) for s in steps[level][:horizon]] for level in LEVELS}


def step_lines(found: dict[str, dict[str, Any]]) -> list[str]:
    """Per series and level: the default's Winkler score over SARIMA's and its coverage at
    every step, the seeds' means."""
    horizon = min(len(f["sarima_steps"][LEVELS[0]]) for f in found.values())
    lines = [
        "",
        "Default / SARIMA Winkler score by step (coverage in brackets), the seeds' mean:",
        "",
        "| series | level | " + " | ".join(str(h) for h in range(1, horizon + 1)) + " |",
        "|---|---:|" + "---:|" * horizon,
    ]
    for name, scores in found.items():
        for level in LEVELS:
            cells = []
            for h in range(horizon):
                ours = [run["steps"][level][h] for run in scores["runs"]]
                ratio = statistics.mean(w for w, _ in ours) / scores["sarima_steps"][level][h][0]
                cells.append(f"{ratio:.2f} ({100 * statistics.mean(c for _, c in ours):.0f}%)")
            lines.append(f"| {name} | {level:g} % | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--only", nargs="+", choices=list(PANEL), default=list(PANEL))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    print(
        "| series | seed | RMSE (SARIMA's) | Winkler 80 % | Winkler 95 % |"
        " coverage 80 % (SARIMA's) | coverage 95 % (SARIMA's) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    found = {}
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.only:
            found[name] = scores = check(name, args.seeds, Path(workdir))
            theirs = scores["sarima_coverage"]
            for run in scores["runs"]:
                cells = [
                    f"{run['rmse']:.4g} ({scores['sarima_rmse']:.4g})",
                    *(f"{run['winkler'][level]:.4g}" for level in (80.0, 95.0)),
                    *(
                        f"{100 * run['coverage'][level][0]:.1f}% ({100 * theirs[level][0]:.1f}%)"
                        for level in (80.0, 95.0)
                    ),
                ]
                print(f"| {name} | {run['seed']} | " + " | ".join(cells) + " |", flush=True)
    print("\n".join(step_lines(found)))
    if args.json:
        args.json.write_text(json.dumps(found, indent=1))


if __name__ == "__main__":
    main()

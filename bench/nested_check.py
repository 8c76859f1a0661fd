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

Compare two versions of the code by running it on each, the same seeds.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from bench.accuracy import DATA, PANEL, train
from bench.classical import classical
from training.data import load_series

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
    found = classical(values, int(len(values) * STAND_IN), series.frequency.season_length)
    sarima = next(r for label, r in found.items() if label.startswith(("SARIMA", "ARIMA")))
    runs = []
    for seed in seeds:
        run = train(inner, name, "default", seed, workdir)
        result = run.result
        runs.append(
            {"seed": seed, "rmse": result.rmse, "winkler": run.winkler, "coverage": result.coverage}
        )
    return {"sarima_rmse": sarima.rmse, "sarima_coverage": sarima.coverage, "runs": runs}


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
    if args.json:
        args.json.write_text(json.dumps(found, indent=1))


if __name__ == "__main__":
    main()

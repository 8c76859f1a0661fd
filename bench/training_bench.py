"""Training benchmark: wall time of `python -m training` with the default and seed presets.

Each run trains on the milk series into a temporary models directory (never the
project's `models/`), `--quiet`, seed 0. Reported: the whole process's wall time
(imports, training, scoring, the report plot, writing the version) and the fit
alone (the manifest's `training.wall_seconds`), with the epochs early stopping ran.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import num, table
from bench.workload import train_model

PRESETS = ("default", "seed")


def measure(logs: Path, runs: int) -> dict[str, list[dict[str, Any]]]:
    """`runs` trainings per preset, alternating presets; wall and fit seconds of each."""
    results: dict[str, list[dict[str, Any]]] = {preset: [] for preset in PRESETS}
    for _ in range(runs):
        for preset in PRESETS:
            with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
                started = time.perf_counter()
                version = train_model(Path(tmp), f"bench-{preset}", preset, logs / "train.log")
                wall = time.perf_counter() - started
                manifest = json.loads((version / "manifest.json").read_text())
            training = manifest["training"]
            results[preset].append(
                {
                    "wall_s": wall,
                    "fit_s": training["wall_seconds"],
                    "epochs_run": training["epochs_run"],
                    "epochs": training["epochs"],
                    "test_rmse": manifest["metrics"]["test"]["rmse"],
                }
            )
            print(f"bench training: {preset}: {wall:.1f} s", file=sys.stderr)
    return results


def render(result: dict[str, list[dict[str, Any]]]) -> list[str]:
    rows = []
    for preset, runs in result.items():
        wall = statistics.median(r["wall_s"] for r in runs)
        fit = statistics.median(r["fit_s"] for r in runs)
        epochs = ", ".join(f"{r['epochs_run']}/{r['epochs']}" for r in runs)
        rmse = ", ".join(f"{r['test_rmse']:.2f}" for r in runs)
        rows.append([f"`{preset}`", f"{num(wall, 1)} s", f"{num(fit, 1)} s", epochs, rmse])
    count = len(next(iter(result.values())))
    return [
        *table(
            ["preset", "wall time (whole CLI)", "fit only", "epochs run / max", "test RMSE"],
            rows,
        ),
        "",
        f"Median of {count} run(s) per preset, seed 0, presets alternating; each run is "
        "`python -m training --data ../shared/data/monthly-milk-production-pounds-p.csv "
        "--preset <preset> --models-dir <temporary dir> --quiet`. Not pinned (TensorFlow "
        "uses every core).",
    ]

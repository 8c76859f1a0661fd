"""Training a catalog: one global model against one model per series and statsforecast's AutoETS.

    python -m bench.panel_training --data synth.csv [--test-periods 24] [--per-series 1]

Times, on the same long-format file and cutoff: the training CLI over every series (one
global model, whole command, peak memory from /usr/bin/time when present), the CLI on
`--per-series` series alone (`--series ID`), extrapolated to the catalog, and
statsforecast's AutoETS fitted to every series' training part (season 12, both cores),
the classical tool a user would reach for. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def cli(data: Path, models: Path, *extra: str) -> dict[str, Any]:
    """Wall seconds and peak resident memory of one `python -m training` run."""
    command = [sys.executable, "-m", "training", "--data", str(data), "--quiet"]
    command += ["--models-dir", str(models), *extra]
    timed = ["/usr/bin/time", "-v", *command] if shutil.which("time") else command
    started = time.perf_counter()
    done = subprocess.run(timed, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"training failed: {done.stderr.strip()[-400:]}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    return {
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(int(peak[1]) / 1024) if peak else None,
        "version": done.stdout.split()[-1],
    }


def auto_ets(data: Path, test_periods: int) -> dict[str, Any]:
    """statsforecast's AutoETS on every series' training part: fit seconds, both cores."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    frame = pd.read_csv(data, dtype={"unique_id": str})
    frame["ds"] = pd.PeriodIndex(frame["ds"], freq="M").to_timestamp()
    cutoff = sorted(frame["ds"].unique())[-test_periods]
    train = frame[frame["ds"] < cutoff]
    model = StatsForecast(models=[AutoETS(season_length=12)], freq="MS", n_jobs=2)
    started = time.perf_counter()
    model.fit(train)
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "series": train["unique_id"].nunique(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.panel_training", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="a unique_id,ds,y CSV")
    parser.add_argument("--test-periods", type=int, default=24)
    parser.add_argument("--per-series", type=int, default=1, help="series trained alone")
    args = parser.parse_args(argv)
    ids = pd.read_csv(args.data, usecols=["unique_id"], dtype=str)["unique_id"].unique()
    cutoff = ["--test-periods", str(args.test_periods)]
    report: dict[str, Any] = {"series": len(ids)}
    with tempfile.TemporaryDirectory(prefix="panel-training-") as tmp:
        report["global"] = cli(args.data, Path(tmp) / "global", *cutoff)
        alone = [
            cli(args.data, Path(tmp) / "alone", *cutoff, "--series", str(sid))["seconds"]
            for sid in ids[: args.per_series]
        ]
    report["one_series_alone_seconds"] = alone
    report["one_at_a_time_extrapolated_hours"] = round(sum(alone) / len(alone) * len(ids) / 3600, 1)
    report["auto_ets"] = auto_ets(args.data, args.test_periods)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A synthetic catalog of monthly series in long format, for the many-series scale benchmarks.

Each series is a level (log-uniform from 10 to 100,000) times a trend, a yearly season of
its own amplitude and phase, and AR(1) noise: the shapes a retail or employment catalog
shows, at sizes (10,000 and more series) no public panel here has. Seeded, so every run
measures the same data. `python -m bench.synthetic_panel OUT.csv --series 10000 --months 120`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def synthetic_panel(series: int, months: int, seed: int = 0) -> pd.DataFrame:
    """`unique_id, ds, y` rows: `series` series of `months` months each, from 2010-01."""
    rng = np.random.default_rng(seed)
    t = np.arange(months)
    level = 10 ** rng.uniform(1, 5, series)[:, None]
    trend = 1 + rng.normal(0, 0.003, series)[:, None] * t
    amplitude = rng.uniform(0, 0.3, series)[:, None]
    phase = rng.uniform(0, 2 * np.pi, series)[:, None]
    season = 1 + amplitude * np.sin(2 * np.pi * t / 12 + phase)
    noise = np.zeros((series, months))
    shocks = rng.normal(0, 0.02, (series, months))
    for k in range(1, months):
        noise[:, k] = 0.6 * noise[:, k - 1] + shocks[:, k]
    values = level * trend * season * (1 + noise)
    periods = pd.period_range("2010-01", periods=months, freq="M").astype(str)
    return pd.DataFrame(
        {
            "unique_id": np.repeat([f"S{k:06d}" for k in range(series)], months),
            "ds": np.tile(periods, series),
            "y": values.ravel().round(3),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    synthetic_panel(args.series, args.months, args.seed).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()

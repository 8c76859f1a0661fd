"""Train through the CLI, in process, on a synthetic monthly series with a tiny, fast model.

Shared by the training tests and the engine's parity tests, which need a freshly
trained version.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pandas as pd

import training.cli as cli

N_POINTS = 96
# Small enough to train in about a second, big enough to exercise the real pipeline.
TINY = ["--units", "3", "--epochs", "3", "--batch-size", "16", "--members", "1", "--quiet"]


def write_series(path: Path, n: int = N_POINTS, seed: int = 7) -> Path:
    """Trend + yearly season + noise, monthly from 2000-01, with a clean header."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 500 + 1.5 * t + 40 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 5, n)
    periods = pd.period_range("2000-01", periods=n, freq="M").astype(str)
    pd.DataFrame({"Month": periods, "Sales": values.round(2)}).to_csv(path, index=False)
    return path


def train_cli(csv: Path, models: Path, *extra: str) -> tuple[int, str]:
    """Run the CLI in-process; return its exit code and what it printed on stdout."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["--data", str(csv), "--models-dir", str(models), *TINY, *extra])
    return code, out.getvalue()


START = "2000-01"


def write_catalog(path: Path, series: dict[str, tuple[float, int, int]] | None = None) -> Path:
    """`unique_id,ds,y` rows: per id (times the base level, first month offset, length), one
    seasonal pattern scaled, so every series has the same shape at its own level. Values
    are written exactly (`repr`), and powers of two scale exactly: 8 x is exactly 8 x."""
    series = CATALOG if series is None else series
    rng = np.random.default_rng(3)
    shape = 1 + 0.1 * np.sin(2 * np.pi * np.arange(400) / 12) + 0.002 * np.arange(400)
    base = 100 * shape * (1 + rng.normal(0, 0.01, 400))
    rows = []
    for sid, (times, offset, length) in series.items():
        periods = pd.period_range(START, periods=offset + length, freq="M").astype(str)
        rows += [f"{sid},{periods[offset + i]},{float(times * base[i])!r}" for i in range(length)]
    path.write_text("unique_id,ds,y\n" + "\n".join(rows) + "\n")
    return path


CATALOG = {
    "small": (1.0, 0, 96),
    "large": (8.0, 0, 96),  # the same shape, eight times the level
    "late": (3.0, 24, 72),  # starts two years later
    "early-end": (0.5, 0, 90),  # ends 6 months before the others
    "tiny": (0.2, 70, 26),  # too short for one window before the cutoff: skipped
}

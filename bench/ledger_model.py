"""The ledger benchmark's catalog model, and the forecasts and actuals it fills the ledger with.

The model is a global LSTM over `bench.synthetic_panel`'s catalog (10,000 monthly series,
48 months each), trained once through the real CLI and cached under /tmp: one pass over
the windows (`--epochs 1`, batches of 1,024) with the default recipe's five members, no
refit. Its accuracy does not matter here; its serving cost does, and five members cost
what the default model costs to serve.

What is written straight into a ledger is what the service's queue writes: `Served`
answers packed by the recorder (`app.ledger.recorder.packed`, one `served` row per
answer) for `Ledger.record_served`, then expanded into one `forecasts` row per value by
`Ledger.expand`: for each series and each of the months after its stored history, a
one-step forecast from the month before, with its 80 % and 95 % bands. The actual of each
month is drawn around that forecast, so about one in twenty falls outside its 95 % band
(the anomalies the accuracy answer lists).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from app.contract.calendar import Frequency, following
from app.contract.series import SeriesTable
from app.contract.store import read_manifest, read_version
from app.forecaster import Band
from app.ledger.recorder import Served, packed
from bench.report import ROOT
from bench.synthetic_panel import synthetic_panel

CACHE = Path(tempfile.gettempdir()) / "lstm-forecast-bench-ledger"
SERIES = 10_000
MONTHS = 48
TRAIN_TIMEOUT_S = 900
SPREAD = 0.05  # the actuals' relative noise around each forecast: its bands' scale
Z = {80: 1.2816, 95: 1.9600}  # standard normal quantiles of the two bands


@dataclass(frozen=True)
class Catalog:
    """The served model: where it is, and what the ledger's rows need of its series."""

    name: str
    models_dir: Path  # FORECAST_MODEL_DIR
    version_dir: Path
    seconds_to_train: float | None  # None: reused from the cache

    @cached_property
    def table(self) -> SeriesTable:
        series = read_version(self.version_dir).series
        assert series is not None, "the catalog model has no series table"
        return series

    @property
    def version(self) -> int:
        return read_manifest(self.version_dir).version

    @property
    def frequency(self) -> Frequency:
        return read_manifest(self.version_dir).data.frequency

    @property
    def ids(self) -> list[str]:
        return self.table.ids

    def months_after(self, count: int) -> list[str]:
        """The `count` periods after every series' stored end (they all end together)."""
        return following(self.table.columns.last_period[0], self.frequency, count)

    def describe(self) -> str:
        m = read_manifest(self.version_dir)
        members, units = m.architecture.members, m.architecture.layers[0].units
        return (
            f"`{self.name}` version {m.version}: {len(self.ids):,} synthetic monthly series "
            f"(`bench.synthetic_panel`, {MONTHS} months each), one global model of {members} "
            f"LSTM({units}) members, look_back {m.pipeline.look_back}, trained for the "
            f"benchmark (`--epochs 1 --batch-size 1024 --no-refit`), from `{self.version_dir}`"
        )


def catalog(log: Path) -> Catalog:
    """The cached catalog model, trained first (about two minutes) when missing."""
    name = f"ledger{SERIES // 1000}k"
    models_dir = CACHE / "models"
    found = _newest(models_dir / name)
    if found is not None:
        return Catalog(name, models_dir, found, None)
    data = CACHE / f"synthetic-{SERIES}x{MONTHS}.csv"
    CACHE.mkdir(parents=True, exist_ok=True)
    synthetic_panel(SERIES, MONTHS).to_csv(data, index=False)
    command = [
        sys.executable, "-m", "training", "--data", str(data), "--name", name,
        "--models-dir", str(models_dir), "--epochs", "1", "--batch-size", "1024",
        "--members", "5", "--test-periods", "12", "--no-refit", "--quiet",
    ]  # fmt: skip
    print(f"bench ledger: training {name} once (about two minutes)", file=sys.stderr)
    started = datetime.now(UTC)
    with log.open("ab") as out:
        done = subprocess.run(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=out, timeout=TRAIN_TIMEOUT_S
        )
        out.write(done.stdout)
    if done.returncode != 0:
        raise RuntimeError(f"training failed ({done.returncode}); see {log}")
    seconds = (datetime.now(UTC) - started).total_seconds()
    version = Path(done.stdout.decode().strip().splitlines()[-1])
    return Catalog(name, models_dir, version, seconds)


def _newest(model_dir: Path) -> Path | None:
    if not model_dir.is_dir():
        return None
    versions = [p for p in model_dir.iterdir() if p.name.isdigit()]
    complete = [p for p in versions if (p / "manifest.json").is_file()]
    return max(complete, key=lambda p: int(p.name), default=None)


@dataclass(frozen=True)
class Months:
    """`series` series x `months` months after the stored histories: forecasts and actuals."""

    periods: list[str]  # the months forecast and observed
    origins: list[str]  # the month before each
    ids: list[str]
    forecast: np.ndarray  # (months, series): each month's one-step forecast
    actual: np.ndarray  # (months, series)

    @property
    def size(self) -> int:
        return int(self.actual.size)


def months_of(model: Catalog, months: int, seed: int = 0) -> Months:
    """Forecasts at each series' last stored value, actuals around them (fixed seed)."""
    table = model.table
    last = table.histories[np.arange(len(table)), -1]  # right-aligned: the newest value
    rng = np.random.default_rng(seed)
    forecast = np.tile(last, (months, 1))
    actual = forecast * (1 + SPREAD * rng.standard_normal(forecast.shape))
    periods = model.months_after(months)
    origins = [table.columns.last_period[0], *periods[:-1]]
    return Months(periods, origins, list(table.ids), forecast, actual.round(3))


def answer(
    model: Catalog, rows: np.ndarray, origin: str, periods: list[str], values: np.ndarray
) -> Served:
    """An answer of the catalog's series `rows` from `origin`, as a request hands it over:
    `values` (series, horizon) with 80 % and 95 % bands, forecasting `periods`."""
    bands = [
        Band(float(level), values * (1 - z * SPREAD), values * (1 + z * SPREAD))
        for level, z in Z.items()
    ]
    ids = [model.ids[r] for r in rows.tolist()]
    origins, forecast = [origin] * len(rows), [periods] * len(rows)
    now = datetime.now(UTC)
    return Served(
        model.name, model.version, model.table, rows, ids, origins, forecast, values, bands,
        None, now, model.frequency.value,
    )  # fmt: skip


def one_step(model: Catalog, data: Months, m: int, rows: np.ndarray) -> Served:
    """The one-step answer of the catalog's series `rows` for month `m` of `data`."""
    values = data.forecast[m, rows][:, None]
    return answer(model, rows, data.origins[m], [data.periods[m]], values)


def served_records(model: Catalog, data: Months, per_batch: int) -> Iterator[list[dict[str, Any]]]:
    """The `served` rows of `data`'s one-step forecasts, as the service's queue writes them:
    one answer of `per_batch` series at a time, packed."""
    for m in range(len(data.periods)):
        for start in range(0, len(data.ids), per_batch):
            rows = np.arange(start, min(start + per_batch, len(data.ids)))
            yield packed(one_step(model, data, m, rows))


def observation_rows(data: Months) -> list[dict[str, Any]]:
    """Every actual of `data` as the observations endpoint takes it, month by month."""
    return [
        {"series_id": sid, "period": period, "value": value}
        for period, values in zip(data.periods, data.actual.tolist(), strict=True)
        for sid, value in zip(data.ids, values, strict=True)
    ]

"""Where the ledger's time goes: its write paths timed in this process, on each database.

Per round, on a fresh ledger of each database, with the catalog's 10,000 series and
one new month:

- `rows_of`, then `Ledger.record_forecasts`, of a 1,000-series answer at horizon 12
  (12,000 forecast values: the overhead table's large batch, one flush's worth);
- `Ledger.record_forecasts` of a one-step forecast for every series (10,000 rows);
- `Ledger.record` of that month's 10,000 actuals (the observations post's upsert);
- `Ledger.score_pending`: scoring the forecasts those actuals meet (the 10,000 one-step
  ones, and 1,000 of each horizon-12 answer so far).

Each is timed in CPU seconds of this process (where SQLite does all its work, and where
the service's own share of PostgreSQL's is spent: building rows, SQLAlchemy, the driver)
and in wall seconds; per forecast value or row, the median over rounds.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from app.ledger.recorder import rows_of
from app.ledger.store import Ledger, Observation
from bench.ledger_db import NAMES, Databases
from bench.ledger_model import (
    Catalog,
    Months,
    answer,
    forecast_rows,
    months_of,
    observation_rows,
)
from bench.report import num, table

BATCH, HORIZON = 1_000, 12
STEPS = {
    "rows_of": "`rows_of`: rows of a 1,000-series answer, horizon 12 (per value)",
    "flush": "`record_forecasts`: those 12,000 values (per value)",
    "fill": "`record_forecasts`: 10,000 one-step values, one per series (per value)",
    "record": "`record`: 10,000 actuals, one per series (per row)",
    "score": "`score_pending`: the forecasts they meet (per forecast)",
}
Times = dict[str, list[tuple[float, float]]]  # step -> (CPU, wall) microseconds per item
_RNG = np.random.default_rng(3)


def measure(model: Catalog, databases: Databases, kinds: list[str], rounds: int) -> dict[str, Any]:
    """kind -> step -> {"cpu_us", "wall_us"} per value or row, medians over `rounds`."""
    data = months_of(model, rounds, seed=2)
    out: dict[str, Any] = {}
    for kind in kinds:
        ledger = Ledger(databases.fresh(kind).url)
        times: Times = {step: [] for step in STEPS}
        try:
            ledger.migrate()
            for m in range(rounds):
                _round(model, ledger, data, m, times)
        finally:
            ledger.close()
        out[kind] = {
            step: {
                "cpu_us": statistics.median(c for c, _ in spans),
                "wall_us": statistics.median(w for _, w in spans),
            }
            for step, spans in times.items()
        }
    return out


def _round(model: Catalog, ledger: Ledger, data: Months, m: int, times: Times) -> None:
    origin = data.origins[m]
    periods = model.months_after(len(data.periods) + HORIZON)[m : m + HORIZON]
    rows = np.arange(BATCH)
    served = answer(model, rows, origin, periods, np.tile(data.forecast[m, rows, None], HORIZON))
    built = _timed(times, "rows_of", BATCH * HORIZON, lambda: rows_of([served], _RNG))
    _timed(times, "flush", len(built), lambda: ledger.record_forecasts(built))
    month = _month(data, m)
    fill = [row for rows_ in forecast_rows(model, month, len(data.ids)) for row in rows_]
    _timed(times, "fill", len(fill), lambda: ledger.record_forecasts(fill))
    actuals = [Observation(**row) for row in observation_rows(month)]
    _timed(times, "record", len(actuals), lambda: ledger.record(model.name, actuals))
    met = len(fill) + BATCH * (m + 1)  # every answer so far forecast this month
    _timed(times, "score", met, lambda: ledger.score_pending(model.name))


def _month(data: Months, m: int) -> Months:
    """Month `m` of `data` alone."""
    return Months(
        data.periods[m : m + 1],
        data.origins[m : m + 1],
        data.ids,
        data.forecast[m : m + 1],
        data.actual[m : m + 1],
    )


def _timed(times: Times, step: str, count: int, call: Callable[[], Any]) -> Any:
    cpu, wall = time.process_time(), time.perf_counter()
    result = call()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    times[step].append((1e6 * cpu / count, 1e6 * wall / count))
    return result


def render(result: dict[str, Any]) -> list[str]:
    kinds = list(result)
    header = ["step"] + [f"{NAMES[k]}: {what}" for k in kinds for what in ("CPU", "wall")]
    rows = [
        [label]
        + [num(result[k][step][what], 1, " µs") for k in kinds for what in ("cpu_us", "wall_us")]
        for step, label in STEPS.items()
    ]
    return table(header, rows)

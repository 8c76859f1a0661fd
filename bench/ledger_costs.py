"""Where the ledger's time goes: its write paths timed in this process, on each database.

Per round, on a fresh ledger of each database, with the catalog's 10,000 series and
one new month, in the order the service runs them:

- `packed` (`app.ledger.recorder`: an answer as the queue writes it, one `served` row) of
  a 1,000-series answer at horizon 12 (the overhead table's large batch), of ten
  1,000-series answers at horizon 1 (every series' one-step forecast), and of 1,000
  one-series answers (predict by id);
- `Ledger.record_served` of one flush: the eleven batch answers (22,000 values in 11
  rows, about a second's worth of batches), then one of the 1,000 one-series answers
  (about a second's worth of predicts by id at concurrency 8);
- `Ledger.expand` of each flush: one `forecasts` row per value;
- `Ledger.record` of that month's 10,000 actuals (the observations post's upsert);
- `Ledger.score_pending`: scoring the forecasts those actuals meet (the 10,000 one-step
  ones, the 1,000 predicts by id, and 1,000 of each horizon-12 answer so far).

Each is timed in CPU seconds of this process (where SQLite does all its work, and where
the service's own share of PostgreSQL's is spent: packing, SQLAlchemy, the driver) and
in wall seconds; per forecast value or row, the median over rounds. `packed`, cheap, is
timed over `PACK_REPEAT` calls. Untimed, the benchmark counts what each `expand` added
to `forecasts` and, at the end, the forecasts scored, against what they should be: a
shortfall is printed and shown under the table, not hidden in a per-value figure.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import func, select

from app.ledger.recorder import Served, packed
from app.ledger.store import Ledger, Observation
from app.ledger.tables import forecasts
from bench.ledger_db import NAMES, Databases
from bench.ledger_model import Catalog, Months, answer, months_of, observation_rows, one_step
from bench.report import sig, table

BATCH, HORIZON, BATCHES_H1 = 1_000, 12, 10
PACK_REPEAT = 10
STEPS = {
    "packed_h12": "`packed`: a 1,000-series answer, horizon 12 (per value)",
    "packed_h1": "`packed`: a 1,000-series answer, horizon 1 (per value)",
    "packed_one": "`packed`: a one-series answer, horizon 1 (per value: per answer)",
    "served": "`record_served`: 1 + 10 of those batch answers, one transaction (per value)",
    "served_one": "`record_served`: 1,000 one-series answers, one transaction (per value)",
    "expand": "`expand`: the 22,000 values of the batch answers (per value)",
    "expand_one": "`expand`: the 1,000 values of the one-series answers (per value)",
    "record": "`record`: 10,000 actuals, one per series (per row)",
    "score": "`score_pending`: the forecasts they meet (per forecast)",
}
Times = dict[str, list[tuple[float, float]]]  # step -> (CPU, wall) microseconds per item
Checks = dict[str, int]  # expected and found: forecasts expanded, forecasts scored


def measure(model: Catalog, databases: Databases, kinds: list[str], rounds: int) -> dict[str, Any]:
    """{"steps": kind -> step -> {"cpu_us", "wall_us"} per value or row, medians over
    `rounds`; "checks": kind -> the forecasts expanded and scored, expected and found}."""
    data = months_of(model, rounds, seed=2)
    out: dict[str, Any] = {"steps": {}, "checks": {}}
    for kind in kinds:
        ledger = Ledger(databases.fresh(kind).url)
        times: Times = {step: [] for step in STEPS}
        checks: Checks = dict.fromkeys(("expanded", "to_expand", "scored", "met"), 0)
        try:
            ledger.migrate()
            for m in range(rounds):
                _round(model, ledger, data, m, times, checks)
            checks["scored"] = _count(ledger, forecasts.c.actual.is_not(None))
        finally:
            ledger.close()
        out["steps"][kind] = {
            step: {
                "cpu_us": statistics.median(c for c, _ in spans),
                "wall_us": statistics.median(w for _, w in spans),
            }
            for step, spans in times.items()
        }
        out["checks"][kind] = checks
        for line in _shortfalls(kind, checks):
            print(f"bench ledger: costs: {line}", file=sys.stderr)
    return out


def _round(
    model: Catalog, ledger: Ledger, data: Months, m: int, times: Times, checks: Checks
) -> None:
    """One month's answers recorded, its actuals stored and scored."""
    periods = model.months_after(len(data.periods) + HORIZON)[m : m + HORIZON]
    rows = np.arange(BATCH)
    values = np.tile(data.forecast[m, rows, None], HORIZON)
    wide = answer(model, rows, data.origins[m], periods, values)
    every = np.arange(len(data.ids))
    steps = [one_step(model, data, m, part) for part in np.array_split(every, BATCHES_H1)]
    ones = [one_step(model, data, m, np.array([r])) for r in range(BATCH)]
    records = _packed(times, "packed_h12", [wide])
    records += _packed(times, "packed_h1", steps)
    singles = _packed(times, "packed_one", ones)
    batch_values = wide.size + sum(s.size for s in steps)
    _timed(times, "served", batch_values, lambda: ledger.record_served(records))
    _expand(times, "expand", ledger, model.name, batch_values, checks)
    _timed(times, "served_one", len(ones), lambda: ledger.record_served(singles))
    _expand(times, "expand_one", ledger, model.name, len(ones), checks)
    actuals = [Observation(**row) for row in observation_rows(_month(data, m))]
    _timed(times, "record", len(actuals), lambda: ledger.record(model.name, actuals))
    met = len(data.ids) + len(ones) + BATCH * min(m + 1, HORIZON)  # every answer for month m
    _timed(times, "score", met, lambda: ledger.score_pending(model.name))
    checks["met"] += met


def _packed(times: Times, step: str, answers: list[Served]) -> list[dict[str, Any]]:
    """The answers' `served` rows; `packed` timed over `PACK_REPEAT` passes."""
    values = sum(a.size for a in answers)
    done = _timed(
        times,
        step,
        values * PACK_REPEAT,
        lambda: [[r for a in answers for r in packed(a)] for _ in range(PACK_REPEAT)],
    )
    return list(done[0])


def _expand(
    times: Times, step: str, ledger: Ledger, model: str, expected: int, checks: Checks
) -> None:
    """`expand` timed per value it should write; the rows it added counted, untimed."""
    before = _count(ledger)
    said = _timed(times, step, expected, lambda: ledger.expand(model))
    if said != expected:
        raise RuntimeError(f"expand said {said:,} forecasts, not {expected:,}")
    checks["expanded"] += _count(ledger) - before
    checks["to_expand"] += expected


def _count(ledger: Ledger, *where: Any) -> int:
    """The `forecasts` rows (matching `where`)."""
    with ledger.engine.connect() as connection:
        found = connection.execute(select(func.count()).select_from(forecasts).where(*where))
        return int(found.scalar_one())


def _shortfalls(kind: str, checks: Checks) -> list[str]:
    lines = []
    if checks["expanded"] != checks["to_expand"]:
        lines.append(
            f"{NAMES[kind]}: `expand` added {checks['expanded']:,} `forecasts` rows of the "
            f"{checks['to_expand']:,} values it was given (and said it wrote them all)"
        )
    if checks["scored"] != checks["met"]:
        lines.append(
            f"{NAMES[kind]}: {checks['scored']:,} forecasts scored of the "
            f"{checks['met']:,} the actuals met"
        )
    return lines


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
    steps = result["steps"]
    kinds = list(steps)
    header = ["step"] + [f"{NAMES[k]}: {what}" for k in kinds for what in ("CPU", "wall")]
    rows = [
        [label]
        + [sig(steps[k][step][what], " µs") for k in kinds for what in ("cpu_us", "wall_us")]
        for step, label in STEPS.items()
    ]
    wrong = [line for k in kinds for line in _shortfalls(k, result["checks"][k])]
    return table(header, rows) + (["", f"**Lost:** {'; '.join(wrong)}."] if wrong else [])

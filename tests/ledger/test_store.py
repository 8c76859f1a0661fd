"""The store on a fresh SQLite ledger: the plans a grown ledger needs, and every value kept."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from app.forecaster import Band
from app.ledger import store
from app.ledger.recorder import Served, packed
from app.ledger.store import Ledger, Observation, _fill, sqlite_url
from app.ledger.tables import observations


def plan(ledger: Ledger, statement: str) -> str:
    with ledger.engine.connect() as connection:
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement).all()
    return " | ".join(row[-1] for row in rows)


def test_scoring_a_post_looks_up_each_forecast_by_series_and_period(tmp_path: Path) -> None:
    """Not a scan of the model's forecasts: that grew with the ledger (0.23 s a post at
    240,000 forecasts, against 1 ms)."""
    ledger = Ledger(sqlite_url(tmp_path))
    ledger.migrate()
    fill = _fill(observations.c.model == "m", observations.c.received_at == datetime.now(UTC))
    sql = str(fill.compile(dialect=ledger.engine.dialect, compile_kwargs={"literal_binds": True}))
    found = plan(ledger, sql)
    assert "USING INDEX observations_received" in found, found
    assert "USING INDEX forecasts_target (model=? AND series_id=? AND period=?)" in found, found
    anomalies = plan(ledger, "SELECT count(*) FROM forecasts WHERE model = 'm' AND in_95 = 0")
    assert "forecasts_anomalies" in anomalies, anomalies
    ledger.close()


def answer(series: list[str], origin: str, horizon: int = 2) -> Served:
    """An answer of `series` from `origin`, its points 10, 20, ... and bands of +-1 and +-2."""
    values = np.arange(1, len(series) * horizon + 1, dtype=np.float64).reshape(-1, horizon) * 10
    table = SimpleNamespace(mase_scale=np.full(len(series), 2.0))
    bands = [Band(80.0, values - 1, values + 1), Band(95.0, values - 2, values + 2)]
    return Served(
        "m",
        1,
        table,
        np.arange(len(series)),
        series,
        [origin] * len(series),
        [],
        values,  # type: ignore[arg-type]
        bands,
        "request",
        datetime.now(UTC),
        "monthly",
    )


def count(ledger: Ledger, *where: str) -> int:
    clause = " AND ".join(("model = 'm'", *where))
    with ledger.engine.connect() as connection:
        return int(
            connection.exec_driver_sql(
                f"SELECT count(*) FROM forecasts WHERE {clause}"
            ).scalar_one()
        )


def test_answers_expanded_at_different_times_keep_every_value(tmp_path: Path) -> None:
    """SQLite reuses a deleted row's id unless told not to; the forecasts' keys come from it."""
    ledger = Ledger(sqlite_url(tmp_path))
    ledger.migrate()
    ledger.record_served(packed(answer(["a", "b"], "2020-01")))
    assert ledger.expand("m") == 4
    ledger.record_served(packed(answer(["a", "b"], "2020-02")))
    assert ledger.expand("m") == 4
    assert count(ledger) == 8
    ledger.close()


def test_actuals_posted_after_the_expansion_score_the_forecasts_they_meet(tmp_path: Path) -> None:
    ledger = Ledger(sqlite_url(tmp_path))
    ledger.migrate()
    ledger.record_served(packed(answer(["a", "b"], "2020-01")))
    ledger.expand("m")  # expanded before any actual arrived, as an accuracy read does
    ingest = ledger.record(
        "m", [Observation("a", "2020-02", 10.5), Observation("b", "2020-03", 60.0)]
    )
    assert sorted(ledger.actuals("m", ingest.received_at)) == [
        ("a", "2020-02", 10.5),
        ("b", "2020-03", 60.0),
    ]
    assert [i.id for i in ledger.ingests_since(ingest.received_at)] == [ingest.id]
    ledger.score_pending()
    assert count(ledger, "actual IS NOT NULL") == 2
    (sums,) = [s for s in ledger.step_sums("m") if s.step == 1]
    assert (sums.n, sums.sq, sums.ase) == (1, 0.25, 0.25)
    total, listed = ledger.anomalies("m")
    assert total == 1 and (listed[0].series_id, listed[0].step, listed[0].actual) == ("b", 2, 60.0)
    ledger.close()


def test_an_answer_mixing_known_and_posted_series_records_the_known_only(tmp_path: Path) -> None:
    mixed = answer(["a", "b", "c"], "2020-01")
    mixed = Served(**{**vars(mixed), "rows": np.array([0, -1, 2]), "ids": ["a", None, "c"]})
    (record,) = packed(mixed)
    assert record["series_ids"] == "a\nc"
    points = np.frombuffer(record["points"]).reshape(2, 2)
    assert np.array_equal(points, mixed.values[[0, 2]])
    ledger = Ledger(sqlite_url(tmp_path))
    ledger.migrate()
    ledger.record_served([record])
    assert ledger.expand("m") == 4
    assert count(ledger, "series_id = 'c'", "step = 2", "upper_95 = 62.0") == 1
    ledger.close()


def test_a_bounded_expansion_leaves_the_rest_packed_and_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read expands a batch of what waits, not a backlog of any size."""
    ledger = Ledger(sqlite_url(tmp_path))
    ledger.migrate()
    for month in range(1, 4):
        ledger.record_served(packed(answer(["a", "b"], f"2020-{month:02d}")))
    assert ledger.packed_values("m") == 12
    monkeypatch.setattr(store, "EXPAND_BATCH", 2)  # answers per batch
    assert ledger.expand("m", batches=1) == 8
    assert ledger.packed_values("m") == 4
    assert ledger.expand("m") == 4 and ledger.packed_values("m") == 0
    ledger.close()

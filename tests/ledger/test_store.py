"""The store's queries on a fresh SQLite ledger: the plans a grown ledger needs, from the start."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from app.ledger.store import Ledger, _fill, sqlite_url
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

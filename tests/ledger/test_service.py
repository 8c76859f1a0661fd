"""The ledger under trouble: a full queue, a database that goes away and comes back, two
workers on one database, a `kill -9`, and a schema that is exactly `app.ledger.tables`.

Real databases throughout: SQLite files and the session's PostgreSQL server. A database
"goes away" the way it does in production: it stops accepting connections and the ones
open are terminated.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from liveserver import live_server
from pgkit import new_database
from sqlalchemy import create_engine, func, select, text

from app.ledger.store import Ledger, sqlite_url
from app.ledger.tables import forecasts, metadata
from app.main import create_app
from app.settings import Settings

pytest.importorskip("keras")  # the catalog model is trained here

IDS = ["small", "large", "late"]


def forecast_rows(url: str) -> tuple[int, int]:
    """(rows, distinct keys) of the ledger's forecasts table, its packed answers expanded."""
    ledger = Ledger(url)
    ledger.expand("catalog")
    ledger.close()
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            found = connection.execute(
                select(func.count(), func.count(forecasts.c.id.distinct()))
            ).one()
            return found[0], found[1]
    finally:
        engine.dispose()


def wait_for(condition: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@contextmanager
def database_to_take_away(server: str) -> Iterator[tuple[str, Callable[[bool], None]]]:
    """A fresh database on the server, and a switch that takes it away and brings it back."""
    url = new_database(server)
    name = url.rsplit("/", 1)[1]
    admin = create_engine(server, isolation_level="AUTOCOMMIT")

    def reachable(yes: bool) -> None:
        with admin.connect() as connection:
            allow = "true" if yes else "false"
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {allow}'))
            if not yes:
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                    ),
                    {"n": name},
                )

    try:
        yield url, reachable
    finally:
        admin.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_migrated_schema_is_exactly_the_tables_module(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """One place for the schema: Alembic's migrations build what `tables.py` declares."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with _database(kind, tmp_path, request) as url:
        ledger = Ledger(url)
        ledger.migrate()
        with ledger.engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
        ledger.close()


def test_a_full_queue_drops_what_does_not_fit_and_counts_it(
    catalog_models: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        model_dir=catalog_models, default_model="catalog", data_dir=tmp_path, ledger_queue=5
    )
    with TestClient(create_app(settings)) as client:
        before = _metric(client, 'forecast_ledger_forecasts_dropped_total{reason="queue_full"}')
        big = {"series_ids": IDS, "horizon": 2}  # 6 values: more than the queue holds
        assert client.post("/v1/models/catalog/predict/batch", json=big).is_success
        small = {"series_id": "small", "horizon": 2}
        assert client.post("/v1/models/catalog/predict", json=small).is_success
        after = _metric(client, 'forecast_ledger_forecasts_dropped_total{reason="queue_full"}')
        assert after - before == 6
        assert "6 forecast values of model catalog were not recorded" in caplog.text
        client.get("/v1/models/catalog/accuracy")  # writes what is queued
    assert forecast_rows(sqlite_url(tmp_path)) == (2, 2)  # the forecast that fitted


def test_a_database_that_goes_away_and_comes_back_loses_nothing_the_queue_holds(
    catalog_models: Path, postgres_url: str
) -> None:
    with database_to_take_away(postgres_url) as (url, reachable):
        settings = Settings(model_dir=catalog_models, default_model="catalog", database_url=url)
        with TestClient(create_app(settings)) as client:
            ids = {"series_ids": IDS, "horizon": 3}
            assert client.post("/v1/models/catalog/predict/batch", json=ids).is_success
            reachable(False)
            wait_for(lambda: client.get("/ready").json()["ledger"] == "degraded")
            for _ in range(3):  # forecasts still answer while the database is away
                assert client.post("/v1/models/catalog/predict/batch", json=ids).is_success
            refused = client.get("/v1/models/catalog/accuracy")
            assert refused.status_code == 503 and "forecasts still answer" in refused.text
            assert "forecast_ledger_up 0.0" in client.get("/metrics").text
            reachable(True)
            wait_for(lambda: client.get("/ready").json()["ledger"] == "ok")
            live = client.get("/v1/models/catalog/accuracy").json()
            assert live["versions"][0]["steps"][0]["recorded"] == 4 * len(IDS)
        assert forecast_rows(url) == (4 * 3 * len(IDS), 4 * 3 * len(IDS))


def test_a_database_out_of_reach_at_start_is_joined_when_it_appears(
    catalog_models: Path, postgres_url: str
) -> None:
    name = f"later_{uuid.uuid4().hex[:12]}"
    url = f"{postgres_url.rsplit('/', 1)[0]}/{name}"
    settings = Settings(model_dir=catalog_models, default_model="catalog", database_url=url)
    with TestClient(create_app(settings)) as client:
        assert client.get("/ready").json()["ledger"] == "degraded"
        new_database(postgres_url, name)
        wait_for(lambda: client.get("/ready").json()["ledger"] == "ok")
        rows = [{"series_id": "small", "period": "2008-01", "value": 1.0}]
        assert client.post(
            "/v1/models/catalog/observations", json={"observations": rows}
        ).is_success


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_two_workers_on_one_database_neither_duplicate_nor_lose_rows(
    kind: str, catalog_models: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with _database(kind, tmp_path, request) as url:
        env = {
            "FORECAST_MODEL_DIR": str(catalog_models),
            "FORECAST_DEFAULT_MODEL": "catalog",
            "FORECAST_DATABASE_URL": url,
            "WEB_CONCURRENCY": "2",
        }
        requests = 60
        with live_server(env, tmp_path / "uvicorn.log", runner=True) as server:

            def forecast(i: int) -> int:
                body = {"series_id": IDS[i % len(IDS)], "horizon": 2}
                return httpx.post(f"{server.url}/v1/models/catalog/predict", json=body).status_code

            with ThreadPoolExecutor(8) as pool:
                assert set(pool.map(forecast, range(requests))) == {200}
        # A graceful stop writes what each worker queued: every value served, once.
        assert forecast_rows(url) == (requests * 2, requests * 2)


def test_forecasts_served_a_second_before_a_kill_9_are_recorded(
    catalog_models: Path, tmp_path: Path
) -> None:
    """The bound on what a `kill -9` loses: the forecasts of the last flush interval (1 s)."""
    data_dir = tmp_path / "data"
    env = {
        "FORECAST_MODEL_DIR": str(catalog_models),
        "FORECAST_DEFAULT_MODEL": "catalog",
        "FORECAST_DATA_DIR": str(data_dir),
    }
    with live_server(env, tmp_path / "uvicorn.log") as server:
        for sid in IDS:
            body = {"series_id": sid, "horizon": 4}
            assert httpx.post(f"{server.url}/v1/models/catalog/predict", json=body).is_success
        time.sleep(2.5)  # two flush intervals and then some
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
    assert forecast_rows(sqlite_url(data_dir)) == (4 * len(IDS), 4 * len(IDS))


@contextmanager
def _database(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if kind == "sqlite":
        yield sqlite_url(tmp_path / "data")
        return
    yield new_database(request.getfixturevalue("postgres_url"))


def _metric(client: TestClient, sample: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0

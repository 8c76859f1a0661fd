"""Actuals posted back (`POST /v1/models/{name}/observations`) into the ledger's real database.

The model is trainkit's tiny catalog (four monthly series); the database is SQLite in a
temporary data directory, as `make serve` runs it, and a real PostgreSQL server (a fresh
database per test, on the session's server). Every answer is checked against what the
database holds afterwards, read through the ledger's own store.
"""

from __future__ import annotations

import os
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from liveserver import free_port, live_server

from app.ledger.store import Ledger, sqlite_url
from app.main import create_app
from app.settings import Settings

pytest.importorskip("keras")  # the catalog model is trained here

ROWS = [
    {"series_id": "small", "period": "2008-01", "value": 101.5},
    {"series_id": "small", "period": "2008-02", "value": 99.0},
    {"series_id": "large", "period": "2008-01", "value": 4012.25},
]


@pytest.fixture
def client(catalog_models: Path, database: str) -> Iterator[TestClient]:
    settings = Settings(model_dir=catalog_models, default_model="catalog", database_url=database)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def stored(database: str | Path) -> dict[str, list[tuple[str, float]]]:
    """What the ledger at `database` (a URL, or a data directory of SQLite) holds for catalog."""
    ledger = Ledger(database if isinstance(database, str) else sqlite_url(database))
    try:
        return ledger.observed("catalog", ["small", "large", "late", "early-end"])
    finally:
        ledger.close()


def test_observations_are_stored_and_posting_them_again_changes_nothing(
    client: TestClient, database: str
) -> None:
    answer = client.post("/v1/models/catalog/observations", json={"observations": ROWS})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"model": "catalog", "version": 1, "stored": 3}
    expected = {"small": [("2008-01", 101.5), ("2008-02", 99.0)], "large": [("2008-01", 4012.25)]}
    assert stored(database) == expected
    again = client.post("/v1/models/catalog/observations", json={"observations": ROWS})
    assert again.status_code == 200 and stored(database) == expected
    corrected = [{"series_id": "small", "period": "2008-02", "value": 98.0}]
    client.post("/v1/models/catalog/observations", json={"observations": corrected})
    assert stored(database)["small"] == [("2008-01", 101.5), ("2008-02", 98.0)]


def test_periods_are_stored_as_the_calendar_names_them(client: TestClient, database: str) -> None:
    """A date names its month, as forecasts' periods do: "2008-03-15" is "2008-03"."""
    row = {"series_id": "late", "period": "2008-03-15", "value": 7.0}
    assert client.post("/v1/models/catalog/observations", json={"observations": [row]}).is_success
    assert stored(database)["late"] == [("2008-03", 7.0)]


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        ({"series_id": "smal", "period": "2008-01", "value": 1}, "series_id", "nearest: 'small'"),
        ({"series_id": "small", "period": "2008-13", "value": 1}, "period", "2008-13"),
        ({"series_id": "small", "period": "1990-01", "value": 1}, "period", "before 'small'"),
    ],
)
def test_a_bad_row_is_refused_by_its_index_and_nothing_is_stored(
    client: TestClient, database: str, bad: dict[str, object], field: str, words: str
) -> None:
    answer = client.post("/v1/models/catalog/observations", json={"observations": [*ROWS, bad]})
    assert answer.status_code == 422
    body = answer.json()
    assert body["errors"][0]["field"] == f"observations[3].{field}"
    assert words in body["errors"][0]["message"] and "nothing was stored" in body["error"]
    assert stored(database) == {}


@pytest.mark.parametrize(
    "body",
    [
        {"observations": []},
        {"observations": [{"series_id": "small", "period": "2008-01", "value": "NaN"}]},
        {"observations": [{"series_id": "small", "period": "2008-01"}]},
        {"observations": [{"series_id": "small", "period": "x" * 17, "value": 1}]},
        {"rows": ROWS},
    ],
)
def test_malformed_requests_are_422_naming_the_field(client: TestClient, body: object) -> None:
    answer = client.post("/v1/models/catalog/observations", json=body)
    assert answer.status_code == 422 and answer.json()["errors"]


def test_an_unknown_model_is_404(client: TestClient) -> None:
    answer = client.post("/v1/models/nope/observations", json={"observations": ROWS})
    assert answer.status_code == 404 and "models: 'catalog'" in answer.json()["error"]


def test_with_the_ledger_off_observations_are_503_and_forecasts_answer(
    catalog_models: Path, data_dir: Path
) -> None:
    settings = Settings(
        model_dir=catalog_models, default_model="catalog", data_dir=data_dir, ledger=False
    )
    with TestClient(create_app(settings)) as client:
        answer = client.post("/v1/models/catalog/observations", json={"observations": ROWS})
        assert answer.status_code == 503 and "FORECAST_LEDGER=false" in answer.json()["error"]
        assert client.post("/v1/models/catalog/predict", json={"series_id": "small"}).is_success
    assert not data_dir.exists()  # off means no database file either


def test_a_database_out_of_reach_leaves_forecasts_answering(
    catalog_models: Path, data_dir: Path
) -> None:
    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/ledger?connect_timeout=2"
    settings = Settings(model_dir=catalog_models, default_model="catalog", database_url=url)
    with TestClient(create_app(settings)) as client:
        answer = client.post("/v1/models/catalog/observations", json={"observations": ROWS})
        assert answer.status_code == 503 and "cannot reach" in answer.json()["error"]
        assert client.post("/v1/models/catalog/predict", json={"series_id": "small"}).is_success
        ready = client.get("/ready")
        assert ready.status_code == 200 and ready.json()["ledger"] == "degraded"
        assert "forecast_ledger_up 0.0" in client.get("/metrics").text


def test_a_schema_from_an_unknown_migration_stops_the_start_in_one_line(
    catalog_models: Path, data_dir: Path
) -> None:
    data_dir.mkdir()
    with sqlite3.connect(data_dir / "ledger.sqlite3") as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        db.execute("INSERT INTO alembic_version VALUES ('9999')")
    settings = Settings(model_dir=catalog_models, default_model="catalog", data_dir=data_dir)
    app = create_app(settings)
    with (
        pytest.raises(Exception, match="cannot migrate the ledger database") as raised,
        TestClient(app),
    ):
        pass
    assert "\n" not in str(raised.value)


def test_an_acknowledged_observation_survives_kill_9(catalog_models: Path, tmp_path: Path) -> None:
    """The 200 is sent after the commit, and SQLite syncs a commit to disk (WAL, FULL)."""
    data_dir = tmp_path / "data"
    env = {
        "FORECAST_MODEL_DIR": str(catalog_models),
        "FORECAST_DEFAULT_MODEL": "catalog",
        "FORECAST_DATA_DIR": str(data_dir),
    }
    with live_server(env, tmp_path / "uvicorn.log") as server:
        answer = httpx.post(
            f"{server.url}/v1/models/catalog/observations", json={"observations": ROWS}
        )
        assert answer.status_code == 200
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
    assert sum(len(v) for v in stored(data_dir).values()) == 3


def test_head_names_the_newest_migration_and_a_migrated_database_is_at_it(tmp_path: Path) -> None:
    """`HEAD` lets a start skip Alembic; it must be the revision Alembic would migrate to."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from app.ledger.store import HEAD, MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD
    ledger = Ledger(sqlite_url(tmp_path))
    assert ledger.revision() is None
    ledger.migrate()
    assert ledger.revision() == HEAD
    ledger.migrate()  # at head: nothing to do
    ledger.close()


def test_many_unknown_ids_are_refused_quickly_and_only_the_first_gets_its_nearest(
    client: TestClient,
) -> None:
    """The nearest-id search reads every id, so it runs once, not once per bad row."""
    bad = [{"series_id": f"smal{i}", "period": "2008-01", "value": 1.0} for i in range(5_000)]
    answer = client.post("/v1/models/catalog/observations", json={"observations": bad})
    body = answer.json()
    assert answer.status_code == 422 and "(and 4999 more)" in body["error"]
    assert "nearest: 'small'" in body["errors"][0]["message"]
    assert len(body["errors"]) == 100 and "nearest" not in body["errors"][1]["message"]


def test_a_row_posted_twice_in_one_request_keeps_its_last_value(
    client: TestClient, database: str
) -> None:
    rows = [*ROWS, {"series_id": "small", "period": "2008-01", "value": 7.25}]
    answer = client.post("/v1/models/catalog/observations", json={"observations": rows})
    assert answer.status_code == 200, answer.text
    assert stored(database)["small"] == [("2008-01", 7.25), ("2008-02", 99.0)]

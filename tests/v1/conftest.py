"""Fixtures of the ledger's endpoints: a data directory, and the database by URL."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.ledger.store import sqlite_url


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, data_dir: Path) -> str:
    """The ledger's URL: SQLite in the data directory, or a new database on the server."""
    if request.param == "sqlite":
        return sqlite_url(data_dir)
    server: str = request.getfixturevalue("postgres_url")
    name = f"ledger_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{server.rsplit('/', 1)[0]}/{name}"

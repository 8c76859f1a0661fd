"""Fixtures of the ledger's endpoints: a data directory, and the database by URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from pgkit import new_database

from app.ledger.store import sqlite_url


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, data_dir: Path) -> str:
    """The ledger's URL: SQLite in the data directory, or a new database on the server."""
    if request.param == "sqlite":
        return sqlite_url(data_dir)
    return new_database(request.getfixturevalue("postgres_url"))

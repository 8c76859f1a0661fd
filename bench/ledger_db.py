"""The ledger benchmark's databases: fresh SQLite files, fresh databases on one PostgreSQL.

PostgreSQL is the test suite's throwaway server (`tests/pgkit.py`: Debian's binaries, a
fresh `initdb` on a free port of 127.0.0.1, stopped at the end), started once; each
measurement gets a database of its own on it, as each gets a SQLite file of its own.
The server is started from the benchmark process, which runs on the load generator's CPU,
so PostgreSQL runs there too: the service's core is measured alone, as it would be with
the database on another host.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from bench.report import ROOT

SQLITE, POSTGRES = "sqlite", "postgres"
NAMES = {SQLITE: "SQLite", POSTGRES: "PostgreSQL"}


@dataclass(frozen=True)
class Database:
    """One fresh ledger database and the environment that points the service at it."""

    kind: str  # SQLITE or POSTGRES
    url: str
    data_dir: Path  # FORECAST_DATA_DIR (the SQLite file's directory)

    def env(self) -> dict[str, str]:
        env = {"FORECAST_LEDGER": "true", "FORECAST_DATA_DIR": str(self.data_dir)}
        return env | ({"FORECAST_DATABASE_URL": self.url} if self.kind == POSTGRES else {})

    def count(self, query: str) -> int:
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                return int(connection.execute(text(query)).scalar_one())
        finally:
            engine.dispose()

    def wait_scored(self, timeout: float) -> float:
        """Seconds until no ingest is left unscored (the service's background pass)."""
        started = time.perf_counter()
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                while time.perf_counter() - started < timeout:
                    left = connection.execute(text("SELECT count(*) FROM ingests WHERE scored = 0"))
                    if left.scalar_one() == 0:
                        return time.perf_counter() - started
                    connection.rollback()  # a fresh snapshot at the next look
                    time.sleep(0.05)
        finally:
            engine.dispose()
        raise TimeoutError(f"the ingests were not scored within {timeout:.0f} s")


class Databases:
    """Hands out fresh databases: SQLite files under `root`, PostgreSQL ones on `server`."""

    def __init__(self, root: Path, server: str | None) -> None:
        self.root = root
        self.server = server  # the PostgreSQL URL pgkit gave, or None: SQLite only
        self._made = 0

    def fresh(self, kind: str) -> Database:
        self._made += 1
        data_dir = self.root / f"db{self._made}-{kind}"
        data_dir.mkdir(parents=True)
        if kind == SQLITE:
            return Database(kind, f"sqlite:///{data_dir / 'ledger.sqlite3'}", data_dir)
        assert self.server is not None, "no PostgreSQL server"
        name = f"ledger{self._made}"
        admin = create_engine(make_url(self.server).set(database="postgres"))
        try:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text(f"CREATE DATABASE {name}"))
        finally:
            admin.dispose()
        url = make_url(self.server).set(database=name)
        return Database(kind, url.render_as_string(hide_password=False), data_dir)


@contextmanager
def postgres(base: Path) -> Iterator[str | None]:
    """A fresh PostgreSQL server's URL for the block; None (and a note) without PostgreSQL."""
    sys.path.insert(0, str(ROOT / "tests"))  # pgkit and its liveserver live with the tests
    try:
        import pgkit
    finally:
        sys.path.remove(str(ROOT / "tests"))
    if pgkit.POSTGRES is None:
        print("bench ledger: no PostgreSQL (`make postgres`); SQLite only", file=sys.stderr)
        yield None
        return
    with pgkit.postgres_server(base) as url:
        yield str(url)

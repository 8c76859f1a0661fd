"""The ledger's database: connect, migrate at start, write actuals in one transaction, read them.

SQLite by default: one file under the data directory, created on first start, in WAL mode
with `synchronous=FULL`, so a write acknowledged is on disk (it survives a `kill -9`
right after) and readers never wait for the writer. PostgreSQL by URL
(`FORECAST_DATABASE_URL`, `postgresql+psycopg://...`) for several workers and replicas.
Writes are upserts through each dialect's `INSERT ... ON CONFLICT DO UPDATE`, so posting
the same rows twice changes nothing, and a batch is one transaction: all of it or none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from app.errors import LedgerUnavailable
from app.ledger.tables import observations

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0001"  # the newest migration's revision; a test holds it to Alembic's own head
SQLITE_BUSY_MS = 5_000  # how long a SQLite writer waits for another worker's transaction
CHUNK = 5_000  # rows per INSERT statement: SQLite allows 32,766 bound parameters


@dataclass(frozen=True)
class Observation:
    """One actual: the value series `series_id` took in `period` (an ISO period label)."""

    series_id: str
    period: str
    value: float


class Ledger:
    """One database, as the service uses it. Thread-safe: SQLAlchemy pools the connections."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _engine(url)

    def reach(self) -> None:
        """Connect once: `LedgerUnavailable` when the database cannot be reached."""
        try:
            with self.engine.connect():
                pass
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"cannot reach the ledger database: {_reason(exc)}") from None

    def migrate(self) -> None:
        """Bring the schema to the newest migration; a failure is one `LedgerUnavailable` line.

        A database already at `HEAD` (every start but the first) is left as it is without
        importing Alembic, which would cost a start about 0.3 s and 11 MiB for nothing.
        """
        if self.revision() == HEAD:
            return
        from alembic import command
        from alembic.config import Config
        from alembic.util import CommandError

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except (SQLAlchemyError, CommandError) as exc:
            raise LedgerUnavailable(f"cannot migrate the ledger database: {_reason(exc)}") from None

    def revision(self) -> str | None:
        """The migration the database is at (Alembic's `alembic_version`); None before any."""
        try:
            with self.engine.connect() as connection:
                if not inspect(connection).has_table("alembic_version"):
                    return None
                found = connection.execute(text("SELECT version_num FROM alembic_version"))
                return found.scalar_one_or_none()
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"cannot read the ledger's schema: {_reason(exc)}") from None

    def record(self, model: str, rows: Sequence[Observation]) -> None:
        """Upsert `rows` for `model` in one transaction: all of them are stored, or none."""
        now = datetime.now(UTC)
        values = [
            {"model": model, "series_id": r.series_id, "period": r.period, "value": r.value}
            | {"received_at": now}
            for r in rows
        ]
        insert = (postgresql if self.engine.dialect.name == "postgresql" else sqlite).insert
        try:
            with self.engine.begin() as connection:
                for start in range(0, len(values), CHUNK):
                    statement = insert(observations).values(values[start : start + CHUNK])
                    connection.execute(
                        statement.on_conflict_do_update(
                            index_elements=["model", "series_id", "period"],
                            set_={
                                "value": statement.excluded.value,
                                "received_at": statement.excluded.received_at,
                            },
                        )
                    )
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"the observations were not stored: {_reason(exc)}") from None

    def observed(self, model: str, series_ids: Iterable[str]) -> dict[str, list[tuple[str, float]]]:
        """Each series' stored actuals, (period, value) in period order; absent: none."""
        wanted = sorted(set(series_ids))
        found: dict[str, list[tuple[str, float]]] = {}
        query = (
            select(observations.c.series_id, observations.c.period, observations.c.value)
            .where(observations.c.model == model)
            .order_by(observations.c.series_id, observations.c.period)
        )
        try:
            with self.engine.connect() as connection:
                for start in range(0, len(wanted), CHUNK):
                    ids = wanted[start : start + CHUNK]
                    chosen = query.where(observations.c.series_id.in_(ids))
                    for sid, period, value in connection.execute(chosen):
                        found.setdefault(sid, []).append((period, value))
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"cannot read the observations: {_reason(exc)}") from None
        return found

    def close(self) -> None:
        self.engine.dispose()


def sqlite_url(data_dir: Path) -> str:
    """The default database: `ledger.sqlite3` in the data directory, created if missing."""
    return f"sqlite:///{data_dir.resolve() / 'ledger.sqlite3'}"


def _engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL, so readers never wait for a writer; FULL, so a committed write is on disk."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _reason(exc: Exception) -> str:
    """The driver's first line, without SQLAlchemy's statement dump and links."""
    origin = getattr(exc, "orig", None) or exc
    return str(origin).strip().splitlines()[0] if str(origin).strip() else type(exc).__name__

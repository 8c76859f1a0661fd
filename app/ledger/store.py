"""The ledger's database: connect, migrate at start, write actuals and forecasts, score, read.

SQLite by default: one file under the data directory, created on first start, in WAL mode
with `synchronous=FULL`, so a write acknowledged is on disk (it survives a `kill -9`
right after) and readers never wait for the writer. PostgreSQL by URL
(`FORECAST_DATABASE_URL`, `postgresql+psycopg://...`) for several workers and replicas.

Actuals are upserts through each dialect's `INSERT ... ON CONFLICT DO UPDATE`, so posting
the same rows twice changes nothing, and a batch is one transaction (all of it or none)
that also records one `ingests` row. Scoring the forecasts those actuals meet happens off
the post's path (`score_pending`). Forecasts are written packed, one row per answer
(`record_served`), and expanded into one row per value in bulk when the model's actuals
arrive or its accuracy is asked for (`expand`).

Filling in actuals races between workers on PostgreSQL (a forecast flushed while an
ingest commits could be missed by both), so both writers take one transaction-level
advisory lock: whichever commits second sees the other's rows. SQLite has one writer.
"""

from __future__ import annotations

import fcntl
import itertools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    case,
    create_engine,
    event,
    func,
    inspect,
    literal,
    null,
    select,
    text,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from app.errors import LedgerUnavailable
from app.ledger.recorder import FORECAST_COLUMNS, unpacked
from app.ledger.tables import LEVELS, forecasts, ingests, observations, served

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0002"  # the newest migration's revision; a test holds it to Alembic's own head
WRITERS_LOCK = 0x1ED6E5  # the PostgreSQL advisory lock the ledger's writers share
MIGRATION_LOCK = 0x1ED6E6  # and the one its migrators share
PENDING_BATCH = 100  # ingests one scoring pass claims
EXPAND_BATCH = 200  # packed answers one expansion transaction takes
KEY_BITS = 24  # a forecasts row's key: its served row's id << KEY_BITS, plus its place
CONNECT_SECONDS = 5  # PostgreSQL: how long a connect may take unless the URL says
SQLITE_BUSY_MS = 5_000  # how long a SQLite writer waits for another worker's transaction
CHUNK = 5_000  # rows per INSERT statement: SQLite allows 32,766 bound parameters


@dataclass(frozen=True)
class Observation:
    """One actual: the value series `series_id` took in `period` (an ISO period label)."""

    series_id: str
    period: str
    value: float


@dataclass(frozen=True)
class Ingest:
    """One accepted post of actuals: its rows in `observations` carry its `received_at`."""

    id: int
    model: str
    received_at: datetime


@dataclass(frozen=True)
class StepSums:
    """What the scored forecasts of one version and step add up to (`app.ledger.accuracy`)."""

    version: int
    step: int
    first_served: datetime
    recorded: int  # forecasts recorded, scored or not
    n: int  # forecasts whose actual has arrived
    sq: float
    ae: float
    scaled: int  # of them, those with a MASE scale
    ase: float
    bands: dict[int, tuple[int, float, float]]  # level -> (n, inside, Winkler sum)


@dataclass(frozen=True)
class Anomaly:
    """An actual outside the 95 % band that was served for it."""

    series_id: str
    period: str
    version: int
    step: int
    forecast: float
    actual: float
    lower: float
    upper: float


class Ledger:
    """One database, as the service uses it. Thread-safe: SQLAlchemy pools the connections."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _engine(url)
        self._postgres = self.engine.dialect.name == "postgresql"

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
            with self._migrating():
                if self.revision() == HEAD:  # another worker migrated while this one waited
                    return
                with self.engine.begin() as connection:
                    config.attributes["connection"] = connection
                    command.upgrade(config, "head")
            self.engine.dispose()  # new connections read the schema's statistics afresh
        except (SQLAlchemyError, CommandError) as exc:
            raise LedgerUnavailable(f"cannot migrate the ledger database: {_reason(exc)}") from None

    @contextmanager
    def _migrating(self) -> Iterator[None]:
        """One migrator at a time: the workers of a first start all find the schema missing.

        PostgreSQL: a session advisory lock. SQLite: an exclusive lock on a file beside the
        database (its workers share one machine).
        """
        if self._postgres:
            with self.engine.connect() as connection:
                connection.execute(select(func.pg_advisory_lock(MIGRATION_LOCK)))
                try:
                    yield
                finally:
                    connection.execute(select(func.pg_advisory_unlock(MIGRATION_LOCK)))
            return
        database = self.engine.url.database
        if not database or database == ":memory:":
            yield
            return
        with open(f"{database}.migrating", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

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

    def record(self, model: str, rows: Sequence[Observation]) -> Ingest:
        """Upsert `rows` for `model` in one transaction: all of them are stored, or none.

        The same transaction adds the `ingests` row that tells every worker of them.
        """
        now = datetime.now(UTC)
        at = _bound(observations.c.received_at, now, self.engine.dialect)
        latest = {(r.series_id, r.period): r.value for r in rows}  # a row posted twice: the last
        try:
            with self.engine.begin() as connection:
                if self._postgres:  # one statement over arrays: no round trip per row
                    ids, periods = zip(*latest, strict=True)
                    parameters: Any = (model, at, list(ids), list(periods), list(latest.values()))
                else:  # SQLite is in-process: the driver's executemany has no round trips
                    parameters = [(model, s, p, v, at) for (s, p), v in latest.items()]
                connection.exec_driver_sql(self._observations_upsert(), parameters)
                found = connection.execute(
                    ingests.insert()
                    .values(model=model, received_at=now, rows=len(latest), scored=0)
                    .returning(ingests.c.id)
                )
                return Ingest(found.scalar_one(), model, now)
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

    def actuals(
        self, model: str, received_at: datetime | None = None
    ) -> list[tuple[str, str, float]]:
        """(series, period, value) of a model's actuals: all, or one ingest's."""
        query = select(observations.c.series_id, observations.c.period, observations.c.value).where(
            observations.c.model == model
        )
        if received_at is not None:
            query = query.where(observations.c.received_at == received_at)
        try:
            with self.engine.connect() as connection:
                return [(sid, period, value) for sid, period, value in connection.execute(query)]
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"cannot read the observations: {_reason(exc)}") from None

    def ingests_since(self, since: datetime) -> list[Ingest]:
        """The ingests received at or after `since`, oldest first."""
        query = (
            select(ingests.c.id, ingests.c.model, ingests.c.received_at)
            .where(ingests.c.received_at >= since)
            .order_by(ingests.c.id)
        )
        try:
            with self.engine.connect() as connection:
                return [Ingest(*row) for row in connection.execute(query)]
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"cannot read the ingests: {_reason(exc)}") from None

    def record_served(self, records: Sequence[dict[str, Any]]) -> None:
        """Write packed answers (`app.ledger.recorder.packed`): one row each, one transaction."""
        if not records:
            return
        try:
            with self.engine.begin() as connection:
                connection.execute(served.insert(), list(records))
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"the forecasts were not recorded: {_reason(exc)}") from None

    def expand(self, model: str, batches: int | None = None) -> int:
        """Turn the model's packed answers into one `forecasts` row per value; how many rows.

        Each batch of answers is expanded, scored against the actuals already stored, and
        deleted from `served` in one transaction, so nothing is expanded twice or lost.
        `batches` bounds the work (a request's share); None: until none is left.
        """
        pending = (
            select(served).where(served.c.model == model).order_by(served.c.id).limit(EXPAND_BATCH)
        )
        insert_sql = self._forecasts_insert()
        dialect = self.engine.dialect
        total = 0
        try:
            for _ in _rounds(batches):
                with self.engine.begin() as connection:
                    self._lock(connection)
                    records = connection.execute(pending).all()
                    for record in records:
                        rows = unpacked(record, record.id << KEY_BITS)
                        at = _bound(forecasts.c.served_at, record.served_at, dialect)
                        rows = [(*row[:-1], at) for row in rows]
                        connection.exec_driver_sql(insert_sql, rows)  # the driver's executemany
                        total += len(rows)
                    if records:
                        # One scoring of the batch's keys against the actuals already stored.
                        first, last = records[0].id << KEY_BITS, (records[-1].id + 1) << KEY_BITS
                        connection.execute(_fill(forecasts.c.id.between(first, last - 1)))
                        ids = [record.id for record in records]
                        connection.execute(served.delete().where(served.c.id.in_(ids)))
                if len(records) < EXPAND_BATCH:
                    break
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"cannot expand the forecasts: {_reason(exc)}") from None
        return total

    def _observations_upsert(self) -> str:
        """The driver's own upsert of observations: SQLAlchemy's per-row processing would
        cost more than the database's own work. PostgreSQL takes the rows as three arrays."""
        source = (
            "SELECT %s, s, p, v, %s FROM unnest(%s::varchar[], %s::varchar[], %s::float8[])"
            " AS t(s, p, v)"
            if self._postgres
            else "VALUES (?, ?, ?, ?, ?)"
        )
        return (
            f"INSERT INTO observations (model, series_id, period, value, received_at) {source}"
            " ON CONFLICT (model, series_id, period)"
            " DO UPDATE SET value = excluded.value, received_at = excluded.received_at"
        )

    def packed_values(self, model: str) -> int:
        """Forecast values of the model still packed (recorded, not yet expanded)."""
        query = select(func.coalesce(func.sum(func.length(served.c.points)), 0)).where(
            served.c.model == model
        )
        try:
            with self.engine.connect() as connection:
                return int(connection.execute(query).scalar_one()) // 8  # float64 bytes
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"cannot read the forecasts: {_reason(exc)}") from None

    def _forecasts_insert(self) -> str:
        """The driver's own INSERT of a forecasts row: SQLAlchemy's per-row processing would
        cost several times the database's own work on the rows an expansion writes."""
        mark = "%s" if self._postgres else "?"
        columns = ", ".join(FORECAST_COLUMNS)
        marks = ", ".join([mark] * len(FORECAST_COLUMNS))
        return f"INSERT INTO forecasts ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING"

    def score_pending(self, model: str | None = None, rounds: int | None = None) -> int:
        """Fill in the actuals of forecasts that unscored ingests meet; the ingests scored.

        The models with unscored ingests have their packed answers expanded first (in the
        background pass; a request's `rounds` bound leaves them to it: answers expanded
        later are scored then). Any worker may run it; claiming an ingest and scoring it
        are one transaction. `rounds` bounds the transactions; None: until none is left.
        """
        query = select(ingests.c.id, ingests.c.model, ingests.c.received_at).where(
            ingests.c.scored == 0
        )
        if model is not None:
            query = query.where(ingests.c.model == model)
        query = query.order_by(ingests.c.id).limit(PENDING_BATCH)
        done = 0
        try:
            with self.engine.connect() as connection:
                waiting = {row.model for row in connection.execute(query)}
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"cannot score the forecasts: {_reason(exc)}") from None
        for name in sorted(waiting) if rounds is None else ():
            self.expand(name)
        try:
            for _ in _rounds(rounds):
                with self.engine.begin() as connection:
                    self._lock(connection)
                    pending = [Ingest(*row) for row in connection.execute(query)]
                    for ingest in pending:
                        connection.execute(
                            _fill(
                                observations.c.model == ingest.model,
                                observations.c.received_at == ingest.received_at,
                            )
                        )
                    ids = [ingest.id for ingest in pending]
                    if ids:
                        connection.execute(
                            update(ingests).where(ingests.c.id.in_(ids)).values(scored=1)
                        )
                done += len(pending)
                if len(pending) < PENDING_BATCH:
                    break
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"cannot score the forecasts: {_reason(exc)}") from None
        return done

    def step_sums(
        self, model: str, series_id: str | None = None, since: str | None = None
    ) -> list[StepSums]:
        """Per version and step, the sums behind every accuracy score, from one index scan."""
        f = forecasts.c
        columns = [
            f.version,
            f.step,
            func.min(f.served_at),
            func.count(),
            func.count(f.sq),
            func.coalesce(func.sum(f.sq), 0.0),
            func.coalesce(func.sum(f.ae), 0.0),
            func.count(f.ase),
            func.coalesce(func.sum(f.ase), 0.0),
        ]
        for level in LEVELS:
            inside, score = f[f"in_{level}"], f[f"winkler_{level}"]
            columns += [
                func.count(inside),
                func.coalesce(func.sum(inside), 0.0),
                func.coalesce(func.sum(score), 0.0),
            ]
        query = (
            select(*columns)
            .where(f.model == model, *_filters(series_id, since))
            .group_by(f.version, f.step)
            .order_by(f.version, f.step)
        )
        try:
            with self.engine.connect() as connection:
                found = connection.execute(query).all()
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"cannot read the forecasts: {_reason(exc)}") from None
        sums = []
        for row in found:
            version, step, first, recorded, n, sq, ae, scaled, ase, *bands = row
            by_level = {
                level: (int(bands[3 * i]), float(bands[3 * i + 1]), float(bands[3 * i + 2]))
                for i, level in enumerate(LEVELS)
            }
            sums.append(
                StepSums(version, step, _aware(first), recorded, n, sq, ae, scaled, ase, by_level)
            )
        return sums

    def anomalies(
        self, model: str, series_id: str | None = None, since: str | None = None, limit: int = 100
    ) -> tuple[int, list[Anomaly]]:
        """How many actuals fell outside their 95 % band, and the latest `limit` of them."""
        f = forecasts.c
        # Spelled as the partial index `forecasts_anomalies` is, so the planner uses it.
        outside = and_(f.model == model, text("in_95 = 0"), *_filters(series_id, since))
        listed = (
            select(
                f.series_id, f.period, f.version, f.step, f.value, f.actual, f.lower_95, f.upper_95
            )
            .where(outside)
            .order_by(f.period.desc(), f.series_id, f.version, f.step)
            .limit(limit)
        )
        try:
            with self.engine.connect() as connection:
                total = connection.execute(select(func.count()).where(outside)).scalar_one()
                rows = connection.execute(listed).all()
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"cannot read the forecasts: {_reason(exc)}") from None
        return total, [Anomaly(*row) for row in rows]

    def close(self) -> None:
        self.engine.dispose()

    def _lock(self, connection: Connection) -> None:
        """Serialise the writers that fill in actuals (PostgreSQL; SQLite has one writer)."""
        if self._postgres:
            connection.execute(select(func.pg_advisory_xact_lock(WRITERS_LOCK)))


def _fill(*where: ColumnElement[bool]) -> Any:
    """An UPDATE that gives the forecasts matching `where` their actual and score terms.

    Every term is computed in the database from the row's own forecast and bands, so a
    corrected actual rescored replaces the old terms. A band not served leaves its terms
    null; a series without a MASE scale, its scaled error.
    """
    f, actual = forecasts.c, observations.c.value
    error = actual - f.value
    terms: dict[str, Any] = {
        "actual": actual,
        "sq": error * error,
        "ae": func.abs(error),
        "ase": func.abs(error) / f.scale,
    }
    for level in LEVELS:
        lower, upper = f[f"lower_{level}"], f[f"upper_{level}"]
        penalty = 2.0 / (1.0 - level / 100.0)
        missed = case((actual < lower, lower - actual), (actual > upper, actual - upper), else_=0.0)
        terms[f"in_{level}"] = case(
            (lower.is_(None), null()),
            (and_(actual >= lower, actual <= upper), literal(1.0)),
            else_=literal(0.0),
        )
        terms[f"winkler_{level}"] = upper - lower + penalty * missed
    return (
        update(forecasts)
        .where(
            f.model == observations.c.model,
            f.series_id == observations.c.series_id,
            f.period == observations.c.period,
            *where,
        )
        .values(terms)
    )


def _rounds(limit: int | None) -> Iterable[int]:
    """The transactions a bounded pass may take (`limit`), or as many as there is work for."""
    return itertools.count() if limit is None else range(limit)


def _bound(column: Any, value: datetime, dialect: Any) -> Any:
    """A datetime as the dialect stores it, for the driver-level writes: the SQLite text
    SQLAlchemy writes and compares (`ingests` and `observations` are matched on it)."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return value if process is None else process(value)


def _filters(series_id: str | None, since: str | None) -> list[ColumnElement[bool]]:
    found = []
    if series_id is not None:
        found.append(forecasts.c.series_id == series_id)
    if since is not None:
        found.append(forecasts.c.period >= since)
    return found


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; the ledger writes them in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def sqlite_url(data_dir: Path) -> str:
    """The default database: `ledger.sqlite3` in the data directory, created if missing."""
    return f"sqlite:///{data_dir.resolve() / 'ledger.sqlite3'}"


def _engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        # A host that drops packets would otherwise hold a connect for the TCP timeout.
        timeout = {"connect_timeout": CONNECT_SECONDS} if "connect_timeout" not in url else {}
        return create_engine(url, pool_pre_ping=True, connect_args=timeout)
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

"""The ledger's schema, in one place: the migrations create exactly these tables.

- `observations` holds one actual per (model, series, period): posting the same row twice
  changes nothing (an upsert), posting a corrected value replaces it. Periods are the ISO
  labels of `app.contract.calendar` ("2019-10", "2019-Q4", "2019-10-07", "2019"), so they
  sort in time within one series of one frequency.
- `ingests` has one row per accepted post of observations (its rows carry the post's
  `received_at`). It is how every worker learns of actuals another worker stored, and how
  the scoring of forecasts against them is kept off the post's path: a worker claims an
  unscored ingest and fills in the actuals of the forecasts it meets.
- `served` holds what a worker's queue wrote: one row per answer, its series ids, origins,
  points, bands and MASE scales packed (a few microseconds to write, however many series
  the answer forecast). Nothing reads it but the expansion into `forecasts`, which runs
  when the model's actuals arrive or its accuracy is asked for, in bulk, off the
  request path, and deletes what it expanded in the same transaction.
- `forecasts` holds one row per served forecast value (series, origin, step): its point,
  its 80 % and 95 % bands when they were served, the series' MASE scale, and, once its
  actual has arrived, the actual and the per-point terms every accuracy score sums
  (squared and absolute error, scaled error, inside each band, Winkler score per band). The
  covering index `forecasts_scores` lets the accuracy of a model be summed from the index
  alone, without reading the wide rows (10,000 series x 24 months in well under 200 ms).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

MAX_NAME = 200  # model names and series ids (`app.contract.series.MAX_ID_LENGTH`)
MAX_PERIOD = 16
LEVELS = (80, 95)
"""The interval levels the ledger keeps and scores: the service's default levels."""

metadata = MetaData()

observations = Table(
    "observations",
    metadata,
    Column("model", String(MAX_NAME), primary_key=True),
    Column("series_id", String(MAX_NAME), primary_key=True),
    Column("period", String(MAX_PERIOD), primary_key=True),
    Column("value", Float(precision=53), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("observations_received", "model", "received_at"),
)

ingests = Table(
    "ingests",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("model", String(MAX_NAME), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, index=True),
    Column("rows", Integer, nullable=False),
    Column("scored", Integer, nullable=False, default=0, index=True),
)

_double = Float(precision=53)

served = Table(
    "served",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("model", String(MAX_NAME), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("frequency", String(16), nullable=False),
    Column("served_at", DateTime(timezone=True), nullable=False),
    Column("request_id", String(64)),
    Column("horizon", Integer, nullable=False),
    Column("series_ids", Text, nullable=False),  # newline-separated
    Column("origins", Text, nullable=False),  # newline-separated period labels
    Column("points", LargeBinary, nullable=False),  # float64 (series, horizon)
    Column("bands", LargeBinary, nullable=False),  # float64 (levels, 2, series, horizon)
    Column("levels", String(32), nullable=False),  # the levels in `bands`, "80,95" or ""
    Column("scales", LargeBinary, nullable=False),  # float64 per series, NaN: none
    # Never reuse an id (SQLite would, once `expand` deleted the highest): the forecasts
    # keys are made from it.
    sqlite_autoincrement=True,
)

forecasts = Table(
    "forecasts",
    metadata,
    # The `served` row's id times 2**24 plus the value's place in it: expanding a row
    # twice inserts nothing twice, and one expansion is a range of keys. On SQLite it is
    # the rowid, so the table has no separate key index to maintain.
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    ),
    Column("step", Integer, nullable=False),
    Column("model", String(MAX_NAME), nullable=False),
    Column("version", Integer, nullable=False),
    Column("series_id", String(MAX_NAME), nullable=False),
    Column("origin", String(MAX_PERIOD), nullable=False),  # the period of the last value seen
    Column("period", String(MAX_PERIOD), nullable=False),  # the period forecast
    Column("value", _double, nullable=False),
    Column("lower_80", _double),
    Column("upper_80", _double),
    Column("lower_95", _double),
    Column("upper_95", _double),
    Column("scale", _double),  # the series' MASE scale; null when it has none
    Column("request_id", String(64)),
    Column("served_at", DateTime(timezone=True), nullable=False),
    Column("actual", _double),
    Column("sq", _double),
    Column("ae", _double),
    Column("ase", _double),
    Column("in_80", _double),
    Column("winkler_80", _double),
    Column("in_95", _double),
    Column("winkler_95", _double),
    Index("forecasts_target", "model", "series_id", "period"),
    Index(
        "forecasts_scores",
        "model",
        "version",
        "step",
        "sq",
        "ae",
        "ase",
        "in_80",
        "winkler_80",
        "in_95",
        "winkler_95",
        "period",
        "served_at",
    ),
    # Only the actuals outside their 95 % band: listing and counting anomalies reads them
    # alone, not every scored forecast.
    Index(
        "forecasts_anomalies",
        "model",
        "period",
        sqlite_where=text("in_95 = 0"),
        postgresql_where=text("in_95 = 0"),
    ),
)

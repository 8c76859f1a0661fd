"""The ledger's schema, in one place: the migrations create exactly these tables.

`observations` holds one actual per (model, series, period): posting the same row twice
changes nothing (an upsert), posting a corrected value replaces it. Periods are the
ISO labels of `app.contract.calendar` ("2019-10", "2019-Q4", "2019-10-07", "2019"), so
they sort in time within one series of one frequency.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, MetaData, String, Table

MAX_NAME = 200  # model names and series ids (`app.contract.series.MAX_ID_LENGTH`)
MAX_PERIOD = 16

metadata = MetaData()

observations = Table(
    "observations",
    metadata,
    Column("model", String(MAX_NAME), primary_key=True),
    Column("series_id", String(MAX_NAME), primary_key=True),
    Column("period", String(MAX_PERIOD), primary_key=True),
    Column("value", Float(precision=53), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

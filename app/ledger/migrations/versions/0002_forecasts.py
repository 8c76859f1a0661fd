"""The forecasts served (packed per answer, then one row per value), and the ingests that tell
workers of new actuals.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

_double = sa.Float(precision=53)
_id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_index("observations_received", "observations", ["model", "received_at"])
    op.create_table(
        "ingests",
        sa.Column("id", _id, primary_key=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("scored", sa.Integer, nullable=False),
    )
    op.create_index("ix_ingests_received_at", "ingests", ["received_at"])
    op.create_index("ix_ingests_scored", "ingests", ["scored"])
    op.create_table(
        "served",
        sa.Column("id", _id, primary_key=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("frequency", sa.String(16), nullable=False),
        sa.Column("served_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(64)),
        sa.Column("horizon", sa.Integer, nullable=False),
        sa.Column("series_ids", sa.Text, nullable=False),
        sa.Column("origins", sa.Text, nullable=False),
        sa.Column("points", sa.LargeBinary, nullable=False),
        sa.Column("bands", sa.LargeBinary, nullable=False),
        sa.Column("levels", sa.String(32), nullable=False),
        sa.Column("scales", sa.LargeBinary, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_served_model", "served", ["model"])
    op.create_table(
        "forecasts",
        sa.Column("id", _id, primary_key=True, autoincrement=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("series_id", sa.String(200), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("value", _double, nullable=False),
        *(sa.Column(name, _double) for name in ("lower_80", "upper_80", "lower_95", "upper_95")),
        sa.Column("scale", _double),
        sa.Column("request_id", sa.String(64)),
        sa.Column("served_at", sa.DateTime(timezone=True), nullable=False),
        *(
            sa.Column(name, _double)
            for name in ("actual", "sq", "ae", "ase", "in_80", "winkler_80", "in_95", "winkler_95")
        ),
    )
    op.create_index("forecasts_target", "forecasts", ["model", "series_id", "period"])
    op.create_index(
        "forecasts_scores",
        "forecasts",
        [
            *("model", "version", "step", "sq", "ae", "ase"),
            *("in_80", "winkler_80", "in_95", "winkler_95", "period", "served_at"),
        ],
    )

    op.create_index(
        "forecasts_anomalies",
        "forecasts",
        ["model", "period"],
        sqlite_where=sa.text("in_95 = 0"),
        postgresql_where=sa.text("in_95 = 0"),
    )
    if op.get_bind().dialect.name == "sqlite":
        _plan_for_a_large_ledger()


def _plan_for_a_large_ledger() -> None:
    """Give SQLite's planner the shape of a grown ledger before it has grown.

    Without statistics SQLite scores a post's actuals by scanning every forecast of the
    model (it drives the join from `forecasts_scores`, which any `model = ?` matches),
    which grows with the ledger: 0.23 s a post at 240,000 forecasts. These are the
    figures `ANALYZE` would record for a ledger of a million forecasts of many series
    (SQLite's documented way to fix a plan: `sqlite_stat1` may be written by hand); with
    them every lookup goes through the index that names the series and period. PostgreSQL
    keeps its own statistics.
    """
    op.execute("ANALYZE sqlite_master")  # creates sqlite_stat1 if it is missing
    op.execute("DELETE FROM sqlite_stat1 WHERE tbl IN ('forecasts', 'observations')")
    for table, index, stat in (
        ("forecasts", None, "1000000"),
        ("forecasts", "forecasts_target", "1000000 500000 50 5"),
        ("forecasts", "forecasts_scores", "1000000 500000 100000 20000" + " 1000" * 7 + " 10 1"),
        ("forecasts", "forecasts_anomalies", "10000 5000 10"),
        ("observations", None, "1000000"),
        ("observations", "sqlite_autoindex_observations_1", "1000000 500000 50 1"),
        ("observations", "observations_received", "1000000 500000 10000"),
    ):
        op.execute(
            sa.text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (:t, :i, :s)").bindparams(
                t=table, i=index, s=stat
            )
        )


def downgrade() -> None:
    op.drop_table("forecasts")
    op.drop_table("served")
    op.drop_table("ingests")
    op.drop_index("observations_received", "observations")

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


def downgrade() -> None:
    op.drop_table("forecasts")
    op.drop_table("served")
    op.drop_table("ingests")
    op.drop_index("observations_received", "observations")

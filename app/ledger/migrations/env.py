"""Alembic's environment: migrations run on the connection `app.ledger.store` hands over.

There is no alembic.ini: the store builds the configuration in code, so the database URL
comes from the service's settings (the environment) and never from a file.
"""

from __future__ import annotations

from alembic import context

from app.ledger.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()

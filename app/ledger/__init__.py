"""The ledger: what the service forecast for known series, and the actuals posted back.

Forecasts are only as good as they turn out; the ledger keeps the actuals clients post
(`POST /v1/models/{name}/observations`) in a real database, SQLite by default (one file,
nothing to start) and PostgreSQL by URL for several workers and replicas, through
SQLAlchemy 2 Core with Alembic migrations applied at start (`store`). `tables` is the
schema in one place: the migrations create it, the store reads and writes it.
"""

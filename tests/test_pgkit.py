"""The `postgres_url` fixture is a real PostgreSQL server: SQL, transactions, two connections."""

from __future__ import annotations

import sqlalchemy as sa

NAMES = sa.text("select name from pgkit_probe order by id")


def test_postgres_url_reaches_a_real_server_that_keeps_committed_rows(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as connection:
            assert "PostgreSQL" in connection.execute(sa.text("select version()")).scalar_one()
            connection.execute(sa.text("create table pgkit_probe (id int primary key, name text)"))
            connection.execute(sa.text("insert into pgkit_probe values (1, 'milk')"))
            assert connection.execute(NAMES).scalars().all() == ["milk"]
        with engine.connect() as first, engine.connect() as second:
            pid = sa.text("select pg_backend_pid()")
            assert first.execute(pid).scalar_one() != second.execute(pid).scalar_one()
            first.commit()
            with first.begin():
                first.execute(sa.text("insert into pgkit_probe values (2, 'butter')"))
                assert second.execute(NAMES).scalars().all() == ["milk"]  # not committed yet
            assert second.execute(NAMES).scalars().all() == ["milk", "butter"]
    finally:
        engine.dispose()

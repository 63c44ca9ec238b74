"""Versioned schema migrations (alembic), for both backends, run under a lock.

`upgrade(url)` brings the database to the newest revision. Every worker of every instance
calls it at start-up; the first one migrates and the others find the schema current:
PostgreSQL serialises them with a transaction-scoped advisory lock (and migrates inside that
transaction: its DDL is transactional), SQLite with `BEGIN IMMEDIATE` (SQLAlchemy's pysqlite
recipe for transactional DDL: the driver's own transaction handling is switched off).
`baclofen-cds migrate` runs the same from the command line.

A new table is a new file in versions/ (`alembic revision` with the script location below, or
by hand after 0001), with `op.execute` for what differs between the dialects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# pg_advisory_xact_lock key: "bcds" as an integer.
LOCK_KEY = 0x62636473


def sqlalchemy_url(url: str) -> str:
    """SQLAlchemy's name for the same database (the psycopg 3 dialect for PostgreSQL)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def config() -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head() -> str:
    from alembic.script import ScriptDirectory

    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None
    return revision


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import NullPool

    engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:

        @event.listens_for(engine, "connect")
        def _no_driver_transactions(dbapi_connection: Any, _: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin_immediate(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with engine.begin() as connection:
            if sqlite:
                connection.exec_driver_sql("PRAGMA busy_timeout = 30000")
            else:
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOCK_KEY})")
            cfg = config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def current(url: str) -> str | None:
    """The database's revision, or None when it was never migrated."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()

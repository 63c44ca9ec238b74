"""alembic's environment: migrations run on the connection api/store/migrate.py opened (and
locked); there is no offline (SQL script) mode."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("run migrations with api.store.migrate.upgrade (baclofen-cds migrate)")
context.configure(
    connection=connection, target_metadata=None, render_as_batch=connection.dialect.name == "sqlite"
)
with context.begin_transaction():
    context.run_migrations()

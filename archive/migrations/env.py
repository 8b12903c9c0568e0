"""Alembic environment: always run programmatically by `archive.db.upgrade`, which passes
an open connection. Concurrent first opens are safe: SQLite takes the write lock first
(BEGIN IMMEDIATE); PostgreSQL takes an advisory lock. Either is held from reading the
version to the last migration: all of them run in one transaction (alembic's default for
SQLite, whose DDL it takes for non-transactional, is a commit per migration, and another
process opening the archive in between would migrate from there while this one went on
from where it read: "table run_leases already exists")."""

from __future__ import annotations

from alembic import context

from archive.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    transactional_ddl=True,  # SQLite's DDL is transactional
    transaction_per_migration=False,
)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7261030)")
    context.run_migrations()

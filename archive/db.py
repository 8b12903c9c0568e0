"""Opening an archive: engine settings per backend and the schema check/migration.

SQLite: WAL (readers never block the writer), foreign keys on, a 30 s busy timeout,
synchronous=NORMAL by default (in WAL mode a committed write survives the process being
killed; a power cut may lose the last commits, never corrupt the file; `durable=True` gives
FULL, an fsync per commit, about 3x slower per child in the engine), and write transactions start with BEGIN IMMEDIATE so two writers queue instead of deadlocking.

A SQLite file's schema is checked before the first connection that may write (which
switches the file to WAL): a file that is refused (not an archive, from a newer dgm) keeps
every byte.

Read-only opening (`dgm ui` and the browsing commands): a SQLite file is opened as
`archive.sqlite_file.connect_read_only` does (mode=ro, journal mode left as it is, no file
created; a connection made before a writer started is replaced once it has);
PostgreSQL sessions are READ ONLY; an older schema is refused instead of migrated: the
archive's bytes never change.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, SQLAlchemyError

from archive import schema
from archive.errors import ArchiveError
from archive.sqlite_file import (
    ReadOnlyConnection,
    check_sqlite,
    connect_read_only,
    sqlite_file,
    still_current,
)

BUSY_TIMEOUT_MS = 30_000


def to_url(url_or_path: str | os.PathLike[str]) -> str:
    """A SQLAlchemy URL stays as it is; anything else is a path to a SQLite file."""
    s = os.fspath(url_or_path)
    if "://" in s:
        try:
            make_url(s)
        except (ArgumentError, ValueError) as e:  # ValueError: a port that is not a number
            raise ArchiveError(f"invalid archive URL {s!r}: {e}") from None
        return s
    try:
        path = Path(s).expanduser().resolve()
    except (ValueError, RuntimeError) as e:  # a NUL byte; a loop of links
        raise ArchiveError(f"invalid archive path {s!r}: {e}") from None
    if "?" in str(path):  # a URL would read the rest as options and open another file
        raise ArchiveError(
            f"archive path {str(path)!r} contains '?', which an archive URL cannot hold: "
            "rename the file or its folder"
        )
    return f"sqlite:///{path}"


def make_engine(url: str, durable: bool = False, read_only: bool = False) -> Engine:
    """`read_only`: every connection refuses writes at the database itself (a SQLite file
    is opened with mode=ro and its journal mode left alone; PostgreSQL sessions are READ
    ONLY), for browsing an archive without ever changing it."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        path = sqlite_file(url)
        if read_only and path is not None:
            engine = create_engine(url, creator=lambda: connect_read_only(path))
            _reopen_when_a_writer_starts(engine, path)
        else:
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine, "FULL" if durable else "NORMAL", read_only)
        return engine
    engine = create_engine(url, pool_pre_ping=True)
    if read_only:
        _read_only_sessions(engine)
    return engine


def _reopen_when_a_writer_starts(engine: Engine, path: Path) -> None:
    """A pooled connection that read the file as immutable (no writer had it open) is
    replaced once a writer has opened or changed the file, so that the UI, open for hours,
    sees every commit (a stat and a 20-byte read per checkout)."""

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: ReadOnlyConnection, _record: Any, _proxy: Any) -> None:
        if not still_current(dbapi_conn, path):
            raise DisconnectionError("the archive changed since this connection read it")


def _read_only_sessions(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        cur.close()
        dbapi_conn.commit()


def _configure_sqlite(engine: Engine, synchronous: str, read_only: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        if read_only:  # setting WAL would rewrite the header of a file in another mode
            cur.execute("PRAGMA query_only = ON")
        else:
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute(f"PRAGMA synchronous = {synchronous}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def prepare(engine: Engine, url: str, create: bool, migrate: bool = True) -> None:
    """Check the file and schema; create or migrate to HEAD (unless not `migrate`: then an
    older schema is an error). Raises ArchiveError."""
    path = sqlite_file(url)
    shown = str(path) if path else make_url(url).render_as_string(hide_password=True)
    try:
        if path is None:
            with engine.connect() as conn:
                revision = current_revision(conn)
                tables = set(inspect(conn).get_table_names()) if revision is None else set()
            needed = schema.check(revision, tables, shown, create, migrate)
        else:
            needed = check_sqlite(path, create, migrate)
            if not path.exists():  # checked: it is to be created
                path.parent.mkdir(parents=True, exist_ok=True)
        if needed:
            upgrade(engine)
    except ArchiveError:
        raise
    except DBAPIError as e:
        detail = str(e.orig).splitlines()[0] if e.orig is not None else type(e).__name__
        raise ArchiveError(f"cannot use {shown} as an archive: {detail}") from None
    except SQLAlchemyError as e:
        raise ArchiveError(f"cannot use {shown} as an archive: {str(e).splitlines()[0]}") from None


def current_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table(schema.VERSION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {schema.VERSION_TABLE}")).scalar()


def upgrade(engine: Engine) -> None:
    """Run the alembic migrations up to HEAD (programmatically: no alembic.ini)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(schema.MIGRATIONS))
    with engine.connect().execution_options(write=True) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()

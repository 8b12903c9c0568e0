"""Opening an archive: engine settings per backend and the schema check/migration.

SQLite: WAL (readers never block the writer), foreign keys on, a 30 s busy timeout,
synchronous=NORMAL by default (in WAL mode a committed write survives the process being
killed; a power cut may lose the last commits, never corrupt the file; `durable=True` gives
FULL, an fsync per commit, about 3x slower per child in the engine), and write transactions start with BEGIN IMMEDIATE so two writers queue instead of deadlocking.

Read-only opening (`dgm ui`): a SQLite file is opened with mode=ro and its journal mode
left as it is, PostgreSQL sessions are READ ONLY, and an older schema is refused instead
of migrated: the archive's bytes never change.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from archive.errors import ArchiveError

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD = "0003"  # the newest revision in migrations/versions (a test keeps them in step)
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


def sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def make_engine(url: str, durable: bool = False, read_only: bool = False) -> Engine:
    """`read_only`: every connection refuses writes at the database itself (a SQLite file
    is opened with mode=ro and its journal mode left alone; PostgreSQL sessions are READ
    ONLY), for browsing an archive without ever changing it."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if read_only and path is not None:
            engine = create_engine(url, creator=lambda: _sqlite_read_only(path))
        else:
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine, "FULL" if durable else "NORMAL", read_only)
        return engine
    engine = create_engine(url, pool_pre_ping=True)
    if read_only:
        _read_only_sessions(engine)
    return engine


def _sqlite_read_only(path: Path) -> sqlite3.Connection:
    uri = f"file:{quote(str(path))}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=30)
    try:
        conn.execute("PRAGMA schema_version")
    except sqlite3.OperationalError:
        # A WAL file in a directory we cannot write (a read-only mount, another user's
        # files) cannot get its -shm index. Without a -wal file beside it no writer is
        # active, so the file can be read as immutable.
        conn.close()
        wal = path.with_name(path.name + "-wal")
        if wal.exists() or os.access(path.parent, os.W_OK):
            raise
        conn = sqlite3.connect(uri + "&immutable=1", uri=True, check_same_thread=False)
    return conn


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
    path = sqlite_path(url)
    shown = str(path) if path else make_url(url).render_as_string(hide_password=True)
    if path is not None:
        if not path.exists():
            if not create:
                raise ArchiveError(
                    f"no archive at {path}: start a run first, or point --archive / DGM_ARCHIVE at one"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
        elif path.is_dir():
            raise ArchiveError(f"{path} is a directory, not an archive file")
    try:
        with engine.connect() as conn:
            revision = current_revision(conn)
            if revision == HEAD:
                return
            if revision is None:
                tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
                if tables:
                    raise ArchiveError(
                        f"{shown} is a database but not a dgm archive (it has tables "
                        f"{', '.join(sorted(tables)[:3])}...): use another file"
                    )
                if not create:
                    raise ArchiveError(f"{shown} holds no archive yet: start a run first")
            elif not known_revision(revision):
                raise ArchiveError(
                    f"{shown} was written by a newer dgm (schema {revision}, this dgm knows "
                    f"up to {HEAD}): upgrade dgm to read it"
                )
            if not migrate:
                raise ArchiveError(
                    f"{shown} has an older schema ({revision}, this dgm's is {HEAD}) and is "
                    f"opened read-only: upgrade it first with `dgm runs --archive {shown}`"
                )
        upgrade(engine)
    except ArchiveError:
        raise
    except DBAPIError as e:
        detail = str(e.orig).splitlines()[0] if e.orig is not None else type(e).__name__
        raise ArchiveError(f"cannot use {shown} as an archive: {detail}") from None
    except SQLAlchemyError as e:
        raise ArchiveError(f"cannot use {shown} as an archive: {str(e).splitlines()[0]}") from None


def current_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def known_revision(revision: str) -> bool:
    return (MIGRATIONS / "versions" / f"{revision}.py").exists() or any(
        p.name.startswith(f"{revision}_") for p in (MIGRATIONS / "versions").glob("*.py")
    )


def upgrade(engine: Engine) -> None:
    """Run the alembic migrations up to HEAD (programmatically: no alembic.ini)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect().execution_options(write=True) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()

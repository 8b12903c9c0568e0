"""A SQLite archive file opened so that it cannot change: the read-only connection both
drivers use (the standard library's in archive/sqlite_reader.py, SQLAlchemy's in archive/db.py),
and the schema check read without a write.

Read-only means: the file is opened with mode=ro (the database refuses every write), its
journal mode is left as it is, a missing or empty file is an error and never becomes a
database, an archive of another schema is refused untouched, and a file nobody may write
(0444, in a read-only folder) reads as well as any other.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from urllib.parse import quote

from archive import schema
from archive.errors import ArchiveError

BUSY_TIMEOUT_S = 30
WAL_HEADER_VERSION = 2  # bytes 18-19 of a SQLite file in WAL mode


def sqlite_file(url_or_path: str | os.PathLike[str]) -> Path | None:
    """The file of a SQLite archive given as a path or sqlite:/// URL; None for another
    database (or SQLite in memory)."""
    s = os.fspath(url_or_path)
    if "://" not in s:
        return Path(s).expanduser().resolve()
    scheme, _, rest = s.partition("://")
    if scheme.split("+")[0] != "sqlite" or not rest.startswith("/"):
        return None
    path = rest[1:].split("?", 1)[0]
    return Path(path).expanduser().resolve() if path and path != ":memory:" else None


class ReadOnlyConnection(sqlite3.Connection):
    """A connection of `connect_read_only`. `snapshot`: the file's `idle_stamp` when it was
    read as immutable (None: read as SQLite shares a file)."""

    snapshot: tuple[int, int] | None = None


def connect_read_only(path: Path) -> ReadOnlyConnection:
    """A connection that cannot write `path` and creates no file beside it.

    A reader of a WAL file creates its -wal and -shm files, and cannot remove them. A WAL
    file with no -wal beside it has no open connection (the last one to close removes it),
    so it is read as immutable: nothing appears. A writer that opens it meanwhile writes to
    its own -wal; the file itself changes only at a checkpoint, which a browsing read does
    not outlive (a connection kept longer must be dropped once `still_current` is False).
    With a -wal present (a live run) the file is read as SQLite shares it.
    """
    stamp = idle_stamp(path)
    uri = f"file:{quote(str(path))}?mode=ro" + ("&immutable=1" if stamp else "")
    try:
        conn = sqlite3.connect(
            uri,
            uri=True,
            check_same_thread=False,
            timeout=BUSY_TIMEOUT_S,
            factory=ReadOnlyConnection,
        )
        conn.execute("PRAGMA schema_version")
    except sqlite3.Error as e:
        raise ArchiveError(f"cannot use {path} as an archive: {e}") from None
    conn.snapshot = stamp
    return conn


# Closing any descriptor of a file drops every POSIX lock this process holds on it,
# SQLite's own included (sqlite.org/howtocorrupt.html, 2.2): a process that reads the
# header of an archive it also has open through SQLite must never close that descriptor.
# So each file read here keeps one descriptor for the life of the process (pruned once the
# file is deleted: nobody can open it again).
_header_fds: dict[tuple[int, int], int] = {}
_header_lock = threading.Lock()


def _read_header(path: Path) -> tuple[bytes, os.stat_result]:
    """The first 20 bytes of `path` and its stat, through a descriptor never closed."""
    st = os.stat(path)
    with _header_lock:
        fd = _header_fds.get((st.st_dev, st.st_ino))
        if fd is None:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            opened = os.fstat(fd)
            _header_fds[(opened.st_dev, opened.st_ino)] = fd
            for key, other in list(_header_fds.items()):
                if other != fd and os.fstat(other).st_nlink == 0:
                    os.close(other)
                    del _header_fds[key]
    return os.pread(fd, 20, 0), os.fstat(fd)


def idle_stamp(path: Path) -> tuple[int, int] | None:
    """(size, mtime) of a WAL file that nobody has open (no -wal beside it); None for a
    file in use or in another journal mode."""
    try:
        header, st = _read_header(path)
    except OSError:
        return None
    idle = not path.with_name(path.name + "-wal").exists()
    if len(header) < 20 or header[18] != WAL_HEADER_VERSION or not idle:
        return None
    return st.st_size, st.st_mtime_ns


def still_current(conn: ReadOnlyConnection, path: Path) -> bool:
    """False once a connection that read `path` as immutable may no longer trust it: a
    writer has opened the file since, or changed it and gone."""
    return conn.snapshot is None or idle_stamp(path) == conn.snapshot


def check_file(path: Path) -> None:
    """A missing file or a directory is not an archive (and is never made one here)."""
    if not path.exists():
        raise ArchiveError(
            f"no archive at {path}: start a run first, or point --archive / DGM_ARCHIVE at one"
        )
    if path.is_dir():
        raise ArchiveError(f"{path} is a directory, not an archive file")


def sqlite_schema(conn: sqlite3.Connection) -> tuple[str | None, set[str]]:
    """(the archive's revision or None, the names of its tables)."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if schema.VERSION_TABLE not in tables:
        return None, tables
    row = conn.execute(f"SELECT version_num FROM {schema.VERSION_TABLE}").fetchone()
    return (row[0] if row else None), tables


def check_sqlite(path: Path, create: bool, migrate: bool) -> bool:
    """The schema check of `schema.check` on a SQLite file, read without changing a byte:
    whether it needs creating or migrating (a missing file does, when `create`)."""
    if create and not path.exists():
        return True
    check_file(path)
    conn = connect_read_only(path)
    try:
        revision, tables = sqlite_schema(conn)
    except sqlite3.Error as e:
        raise ArchiveError(f"cannot use {path} as an archive: {e}") from None
    finally:
        conn.close()
    return schema.check(revision, tables, str(path), create, migrate)

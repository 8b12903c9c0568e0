"""Browsing an archive without changing it, and without SQLAlchemy for a SQLite file.

`open_reader` is what browsing commands open (`dgm runs`, `dgm archive list`, ...): for a
SQLite file a `SQLiteReader` over the standard library's sqlite3 (it starts in
milliseconds, where SQLAlchemy and alembic take a quarter of a second to import), for any
other URL an `Archive` opened read-only. Both answer the browsing queries
(archive/browsing.py) with the same methods, written there once.

Read-only means what archive/sqlite_file.py says: the database refuses every write and
the file keeps every byte.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from archive import schema
from archive.browsing import Browsing, Query
from archive.errors import ArchiveError
from archive.info import AgentInfo, AgentStatus, RunInfo, RunSummary
from archive.sqlite_file import check_file, connect_read_only, sqlite_file, sqlite_schema

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping


class Reader(Protocol):
    """What browsing commands ask of an archive (`Archive` answers it too)."""

    def runs(self) -> list[RunSummary]: ...
    def run(self, run_id: str) -> RunInfo: ...
    def resolve_run(self, prefix: str) -> str: ...
    def resolve_agent(self, prefix: str) -> str: ...
    def agents(
        self,
        run_id: str,
        status: AgentStatus | Iterable[AgentStatus] | None = None,
        min_score: float | None = None,
    ) -> list[AgentInfo]: ...
    def best_agent(self, run_id: str) -> AgentInfo | None: ...
    def lineage(self, agent_id: str) -> list[AgentInfo]: ...
    def evaluation_nodes(self, run_id: str) -> dict[str, int]: ...
    def close(self) -> None: ...
    def __enter__(self) -> Reader: ...
    def __exit__(self, *exc: object) -> None: ...


def open_reader(url_or_path: str | os.PathLike[str]) -> Reader:
    """The archive at a path or URL, for browsing only. Raises ArchiveError (one line)."""
    path = sqlite_file(url_or_path)
    if path is not None:
        return SQLiteReader(path)
    from archive.store import open_archive  # SQLAlchemy: only for other databases

    return open_archive(os.fspath(url_or_path), create=False, read_only=True)


class SQLiteReader(Browsing):
    """A SQLite archive read through the standard library's sqlite3: the browsing queries
    (archive/browsing.py), on a connection that cannot write."""

    def __init__(self, path: Path) -> None:
        check_file(path)
        self.path = path
        self.conn = connect_read_only(path)
        self.conn.row_factory = sqlite3.Row  # the queries read columns by name
        try:
            revision, tables = sqlite_schema(self.conn)
            schema.check(revision, tables, str(path), create=False, migrate=False)
        except sqlite3.Error as e:
            self.conn.close()
            raise ArchiveError(f"cannot use {path} as an archive: {e}") from None
        except ArchiveError:
            self.conn.close()
            raise

    def _query(self, sql: str, params: Mapping[str, object]) -> list[sqlite3.Row]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise ArchiveError(f"archive error in {self.path}: {e}") from None

    @contextmanager
    def _queries(self) -> Iterator[Query]:
        yield self._query

    def close(self) -> None:
        self.conn.close()

"""Which schema an archive has, and whether this dgm may use it: the one check every way of
opening an archive makes (the SQLAlchemy engine and the standard-library reader alike).

Standard library only: browsing commands check a SQLite archive without importing
SQLAlchemy or alembic (their start-up time depends on it).
"""

from __future__ import annotations

from pathlib import Path

from archive.errors import ArchiveError

MIGRATIONS = Path(__file__).parent / "migrations"
VERSIONS = MIGRATIONS / "versions"
VERSION_TABLE = "alembic_version"


def revisions() -> list[str]:
    """The revisions this dgm knows, oldest first (migration files are named NNNN_*.py)."""
    return sorted(p.name.split("_", 1)[0] for p in VERSIONS.glob("[0-9]*.py"))


HEAD = revisions()[-1]  # the newest revision (a test keeps it equal to alembic's head)


def check(revision: str | None, tables: set[str], shown: str, create: bool, migrate: bool) -> bool:
    """Whether the archive needs migrating to HEAD (False: it is at HEAD, or empty and to be
    created). Raises ArchiveError, one line, when this dgm must not use it as it is:
    a database that is not an archive, no archive when not `create`, a newer schema, or an
    older one when not `migrate` (a read-only open)."""
    if revision == HEAD:
        return False
    if revision is None:
        others = tables - {VERSION_TABLE}
        if others:
            raise ArchiveError(
                f"{shown} is a database but not a dgm archive (it has tables "
                f"{', '.join(sorted(others)[:3])}...): use another file"
            )
        if not create:
            raise ArchiveError(f"{shown} holds no archive yet: start a run first")
    elif revision not in revisions():
        raise ArchiveError(
            f"{shown} was written by a newer dgm (schema {revision}, this dgm knows "
            f"up to {HEAD}): upgrade dgm to read it"
        )
    if not migrate:
        raise ArchiveError(
            f"{shown} has an older schema ({revision}, this dgm's is {HEAD}) and is "
            f"opened read-only: upgrade it first with `dgm archive upgrade --archive {shown}`"
        )
    return True

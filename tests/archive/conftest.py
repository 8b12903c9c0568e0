"""Archive fixtures: every archive test runs on SQLite and on a real PostgreSQL.

PostgreSQL cases get a fresh database each (CREATE DATABASE with a random name, dropped
afterwards). Without DGM_TEST_POSTGRES_URL they fail (deselect them with -m "not postgres").
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from archive import Archive, open_archive
from tests.conftest import fresh_postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def archive_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield str(tmp_path / "archive.db")
        return
    yield from fresh_postgres_database()


@pytest.fixture
def archive(archive_url: str) -> Iterator[Archive]:
    a = open_archive(archive_url)
    yield a
    a.close()


def agent_files(n: int = 20, lines: int = 40) -> dict[str, bytes]:
    """A plausible agent: n Python modules in a package."""
    return {
        f"agent/mod{i:03d}.py": (
            f'"""Module {i}."""\n\n'
            + "".join(f"def helper_{i}_{j}(x):\n    return x * {j} + {i}\n\n" for j in range(lines))
        ).encode()
        for i in range(n)
    }


def edit(files: dict[str, bytes], path: str, old: bytes, new: bytes) -> dict[str, bytes]:
    out = dict(files)
    assert old in out[path]
    out[path] = out[path].replace(old, new, 1)
    return out

"""The archive's disk fills (a 4 MiB tmpfs mounted for the test): the failing write is one
line naming the disk, the archive stays intact (SQLite's integrity check), and once there is
room again the same write goes through."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive import ArchiveError, open_archive
from tests import disks
from tests.disks import fill

pytestmark = pytest.mark.mounts


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with disks.small_disk(tmp_path / "disk") as disk:
        yield disk


def test_a_full_disk_is_one_line_the_archive_intact_and_writes_resume(small_disk: Path) -> None:
    db = small_disk / "a.db"
    with open_archive(db) as a:
        run = a.create_run("r", config={})
        agent = a.add_agent(run, {"agent/__main__.py": b"print(1)\n"}, status="evaluated")
    ballast = fill(small_disk)
    big = {f"agent/f{i}.py": (str(i) * 300_000).encode() for i in range(4)}
    with open_archive(db) as a:
        with pytest.raises(ArchiveError) as caught:
            a.add_agent(run, big, parent_id=agent, status="evaluated")
    line = str(caught.value)
    assert (
        "\n" not in line and f"the disk holding {db} (mounted at {small_disk}) is full" in line
    ), line
    assert "the archive is intact" in line
    ballast.unlink()  # room again (SQLite needs some even to read: its -shm file)
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM agents").fetchone() == (1,), "none half-written"
    finally:
        conn.close()
    with open_archive(db) as a:
        child = a.add_agent(run, big, parent_id=agent, status="evaluated")
        assert [x.id for x in a.agents(run)] == [agent, child]

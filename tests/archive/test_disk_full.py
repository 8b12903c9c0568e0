"""The archive's disk fills (a 4 MiB tmpfs mounted for the test): the failing write is one
line naming the disk, the archive stays intact (SQLite's integrity check), and once there is
room again the same write goes through."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive import ArchiveError, open_archive

pytestmark = pytest.mark.mounts


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"cannot mount a tmpfs (run as root): {done.stderr}"
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """A file that takes every free byte of the disk."""
    ballast = disk / "ballast"
    with ballast.open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return ballast


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
    assert "\n" not in line and f"the disk holding {db} is full" in line, line
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

"""Reading an archive's header must not drop this process's SQLite locks on it: closing
any descriptor of a file releases every POSIX lock the process holds there (a seed sweep
corrupted its archive that way before)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from archive.sqlite_file import idle_stamp

TRY_WRITE = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], timeout=0)
try:
    conn.execute("BEGIN IMMEDIATE")
except sqlite3.OperationalError as e:
    print(e)
else:
    print("took the write lock")
"""


def other_process_writes(path: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-c", TRY_WRITE, str(path)], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_reading_the_header_keeps_a_held_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("BEGIN IMMEDIATE")  # the RESERVED lock, on the file itself
    assert other_process_writes(path) == "database is locked"
    for _ in range(3):
        assert idle_stamp(path) is None  # not a WAL file
    assert other_process_writes(path) == "database is locked"
    conn.execute("ROLLBACK")
    assert other_process_writes(path) == "took the write lock"
    conn.close()

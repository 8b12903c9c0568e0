"""A process that records LLM calls exits promptly even when its writer cannot write: the
writer subprocess (dgm/llm/recorder.py) is given a bounded time at exit, then stopped with
one line. (Seen once: a driver that had printed why it stopped stayed up for the writer.)"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from archive import open_archive
from dgm.llm.recorder import EXIT_WAIT_S

RECORDS = """
import sys
from archive.info import LLMCallRecord
from dgm.llm.recorder import ProcessRecorder

recorder = ProcessRecorder(sys.argv[1])
for i in range(3):
    recorder.put(LLMCallRecord(None, None, None, "agent", "m", 1, 1, 0.0, 0.1, b"{}", b"{}",
                               None, f"key{i}"))
print("queued", flush=True)
"""  # exits with the records still queued, as a driver stopped by an archive error does


def test_exit_is_bounded_when_the_archive_stays_locked(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    open_archive(path, create=True).close()
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")  # every write (30 s busy timeout each) waits on it
    try:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", RECORDS, f"sqlite:///{path}"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        took = time.monotonic() - started
    finally:
        lock.rollback()
        lock.close()
    assert done.returncode == 0 and done.stdout == "queued\n", done.stderr
    assert took < EXIT_WAIT_S + 20, f"exit took {took:.1f} s"  # the writer's start included
    said = [line for line in done.stderr.splitlines() if "LLM call writer" in line]
    assert said == [
        f"the LLM call writer did not finish within {EXIT_WAIT_S:g} s; stopping it "
        "(queued records are lost)"
    ], done.stderr
    assert "Traceback" not in done.stderr

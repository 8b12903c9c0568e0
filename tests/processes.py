"""A `dgm` process as a user starts one, and waiting on what it writes to its archive.

One home for the tests that start `dgm run` (or `dgm bench run`): run to its end
(`run_dgm`), or watched in the archive until something has happened, then signalled or
killed (`dgm_process`). Waits stay inside the test's own
deadline (pytest-timeout): a wait that cannot finish in time fails with what the process
said, instead of the whole test being cut off with nothing to read.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from archive import Archive, ArchiveError, open_archive

DGM = Path(sys.executable).parent / "dgm"  # the console script of this environment
MARGIN_S = 60.0  # of the test's deadline, kept for what follows a wait (stop, resume, checks)
POLL_S = 0.05

T = TypeVar("T")
Popen = subprocess.Popen[str]


class Deadline:
    """When the running test's pytest-timeout cuts it off (its own mark, or the ini's)."""

    def __init__(self, request: pytest.FixtureRequest, started: float | None = None) -> None:
        """`started`: when the test's set-up began (its fixtures count against the timeout)."""
        mark = request.node.get_closest_marker("timeout")
        seconds = mark.args[0] if mark and mark.args else request.config.getini("timeout")
        self.at = (started or time.monotonic()) + float(seconds or 180)

    def left(self, margin_s: float = MARGIN_S) -> float:
        return self.at - margin_s - time.monotonic()


def run_dgm(*args: str, cwd: Path, timeout: float = 500) -> subprocess.CompletedProcess[str]:
    """`dgm ARGS` started in `cwd` and run to its end (within `timeout` seconds), its
    stdout and stderr captured as text."""
    return subprocess.run(
        [str(DGM), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


@contextmanager
def dgm_process(
    args: Sequence[str], cwd: Path, *, stdout: int | None = subprocess.DEVNULL
) -> Iterator[Popen]:
    """`dgm ARGS` started in `cwd` (stderr piped, stdout dropped unless `stdout` is given);
    killed on the way out if it still runs."""
    proc = subprocess.Popen(
        [str(DGM), *args], cwd=cwd, stdout=stdout, stderr=subprocess.PIPE, text=True
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def said(proc: Popen) -> str:
    """What an ended process wrote on stderr."""
    return proc.stderr.read() if proc.stderr and proc.poll() is not None else ""


def wait_for_archive(
    url: str | Path,
    seen: Callable[[Archive], T | None],
    what: str,
    proc: Popen,
    deadline: Deadline,
    margin_s: float = MARGIN_S,
) -> T:
    """Poll the archive at `url` until `seen(archive)` returns something (not None, not
    False, not empty) and return it. Fails, with the process's stderr, when the process ends
    first or when less than `margin_s` of the test's deadline would be left."""
    while deadline.left(margin_s) > 0:
        if proc.poll() is not None:
            pytest.fail(f"dgm ended (exit {proc.returncode}) before {what}: {said(proc)}")
        try:
            with open_archive(url, create=False) as archive:
                found = seen(archive)
        except ArchiveError:  # not created, or not migrated yet
            found = None
        if found:
            return found
        time.sleep(POLL_S)
    pytest.fail(f"timed out waiting for {what}")


def first_run(archive: Archive) -> str | None:
    """The id of the archive's first run, once there is one."""
    runs = archive.runs()
    return runs[0].id if runs else None

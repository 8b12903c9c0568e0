"""The CLI as a user runs it: the real entry point in a subprocess, and a small archive."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from archive import open_archive

ENTRY = "import sys; from dgm.cli import main; sys.argv[0] = 'dgm'; main()"


def dgm(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 2, one line on stderr holding every needle, no traceback; that line."""
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and len(err.splitlines()) == 1, proc.stderr
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` (links as their target) by relative path -> sha256."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


@pytest.fixture
def bench_archive(tmp_path: Path) -> tuple[Path, str, str]:
    """(archive file, run id, agent id): a bench run with two evaluations and patches."""
    db = tmp_path / "a.db"
    with open_archive(db) as arch:
        run_id = arch.create_run("b", kind="bench")
        agent_id = arch.add_agent(run_id, {"__main__.py": b"print('hi')\n", "pkg/x.py": b"x = 1\n"})
        for task, patch in (("t-1", "diff a"), ("t-2", "diff b")):
            arch.record_evaluation(agent_id, task, 0, "bench", True, 1.0, {}, 1.0, patch=patch)
        arch.set_agent_status(agent_id, "evaluated")
        arch.set_agent_score(agent_id, "bench", 1.0)
    return db, run_id, agent_id

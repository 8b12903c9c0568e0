"""Browsing commands never change an archive: not its bytes, not its journal mode, not the
files around it. They read a 0444 file in a 0555 folder as another user (root would bypass
the permissions, so as root the commands run as `nobody`), refuse an archive from a newer
dgm untouched, and never turn a missing or empty file into a database."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive import ArchiveError, open_archive
from tests.ui import sample

REPO = Path(__file__).parents[2]
DGM = [sys.executable, "-c", "from dgm.cli import main; main()"]
OTHER_USER = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]


def as_other_user(cmd: list[str]) -> list[str]:
    return [*OTHER_USER, *cmd] if os.geteuid() == 0 else cmd


def snapshot(folder: Path) -> dict[str, tuple[str, int, int]]:
    """Every file in `folder`: the sha256 of its bytes, its mtime and its mode."""
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns, p.stat().st_mode)
        for p in sorted(folder.iterdir())
    }


def journal_mode(db: Path) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        conn.close()


def set_journal_mode(db: Path, mode: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA journal_mode = {mode}")
    conn.close()


def dgm(*args: str, user: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = as_other_user([*DGM, *args]) if user else [*DGM, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder another user can reach (pytest's tmp_path is private to its owner)."""
    path = Path(tempfile.mkdtemp(prefix="dgm-read-only-"))
    path.chmod(0o755)
    yield path
    for p in [path, *path.rglob("*")]:
        if p.is_dir():
            p.chmod(0o755)
    shutil.rmtree(path)


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    db = tmp_path_factory.mktemp("sample") / "archive.db"
    with open_archive(db) as a:
        ids = sample.build(a)
    return db, ids


def browsing(ids: dict[str, str], out: Path) -> list[list[str]]:
    run, agent = ids["run"], ids["cross"]
    return [
        ["runs"],
        ["runs", "--json"],
        ["archive", "list", run],
        ["archive", "list", run[:6], "--json", "--status", "evaluated"],
        ["archive", "show", agent],
        ["archive", "show", agent, "--json"],
        ["archive", "tree", run],
        ["archive", "lineage", agent],
        ["archive", "best", run],
        ["archive", "diff", agent],
        ["llm", "usage", run],
        ["report", run, "--out", str(out)],
    ]


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_browsing_a_file_nobody_may_write(
    sample_db: tuple[Path, dict[str, str]], shared_dir: Path, journal: str
) -> None:
    src, ids = sample_db
    folder = shared_dir / "frozen"
    folder.mkdir()
    db = folder / "archive.db"
    shutil.copyfile(src, db)
    set_journal_mode(db, journal)
    db.chmod(0o444)
    folder.chmod(0o555)
    out = shared_dir / "report"
    out.mkdir(mode=0o777)
    out.chmod(0o777)
    before = snapshot(folder)
    for args in browsing(ids, out):
        r = dgm(*args, "--archive", str(db), user=True)
        assert r.returncode == 0, (args, r.stderr)
        assert r.stdout.strip(), args
    assert (out / "report.md").exists()  # the report was written, elsewhere
    assert snapshot(folder) == before
    assert journal_mode(db) == journal


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_browsing_a_writable_file_changes_nothing(
    sample_db: tuple[Path, dict[str, str]], tmp_path: Path, journal: str
) -> None:
    """Not the journal mode (a reader that sets WAL rewrites the header for good), and no
    -wal or -shm file left beside it."""
    src, ids = sample_db
    folder = tmp_path / "archive"
    folder.mkdir()
    db = folder / "archive.db"
    shutil.copyfile(src, db)
    set_journal_mode(db, journal)
    before = snapshot(folder)
    for args in browsing(ids, tmp_path / "report")[:10]:
        r = dgm(*args, "--archive", str(db))
        assert r.returncode == 0, (args, r.stderr)
    assert snapshot(folder) == before
    assert journal_mode(db) == journal


def assert_one_line_error(r: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    for needle in needles:
        assert needle in r.stderr, (needle, r.stderr)


def test_a_missing_or_empty_file_stays_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    before = snapshot(tmp_path)
    for args in (["runs"], ["archive", "list", "abc"], ["archive", "show", "abc"]):
        assert_one_line_error(
            dgm(*args, "--archive", str(tmp_path / "missing.db")), "no archive at", "missing.db"
        )
        assert_one_line_error(dgm(*args, "--archive", str(empty)), "empty.db", "no archive yet")
    assert_one_line_error(dgm("llm", "usage", "abc", "--archive", str(empty)), "no archive yet")
    assert snapshot(tmp_path) == before
    assert empty.stat().st_size == 0


def test_an_archive_from_a_newer_dgm_is_refused_untouched(
    sample_db: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    src, ids = sample_db
    db = tmp_path / "newer.db"
    shutil.copyfile(src, db)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.commit()
    conn.execute("PRAGMA journal_mode = delete")  # what a writer's WAL switch would change
    conn.close()
    before = snapshot(tmp_path)
    for args in browsing(ids, tmp_path / "report")[:10]:
        assert_one_line_error(dgm(*args, "--archive", str(db)), "newer dgm", "9999")
    with pytest.raises(ArchiveError, match="newer dgm"):
        open_archive(db)  # a writer refuses it before its first connection too
    assert snapshot(tmp_path) == before


def test_another_programs_database_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.commit()
    conn.close()
    before = snapshot(tmp_path)
    assert_one_line_error(dgm("runs", "--archive", str(db)), "not a dgm archive")
    with pytest.raises(ArchiveError, match="not a dgm archive"):
        open_archive(db)
    assert snapshot(tmp_path) == before


def test_a_read_only_archive_sees_every_later_commit(tmp_path: Path) -> None:
    """An idle WAL file is read as immutable (so no -wal appears); the UI keeps its archive
    open for hours, and sees what a writer commits, whether the writer is still there or
    came and went between two reads."""
    db = tmp_path / "a.db"
    with open_archive(db) as a:
        a.create_run("before")
    with open_archive(db, read_only=True) as reader:
        assert [r.name for r in reader.runs()] == ["before"]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a.db"]
        with open_archive(db) as writer:
            writer.create_run("gone")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a.db"]  # checkpointed, left
        assert [r.name for r in reader.runs()] == ["gone", "before"]
        with open_archive(db) as writer:
            writer.create_run("during")
            assert [r.name for r in reader.runs()] == ["during", "gone", "before"]


def test_an_older_archive_is_refused_untouched_until_upgraded(tmp_path: Path) -> None:
    from tests.ui.test_read_only import old_archive, revision

    db = tmp_path / "old.db"
    old_archive(str(db))
    before = snapshot(tmp_path)
    for args in (["runs"], ["archive", "list", "old"], ["archive", "show", "aaaa"]):
        assert_one_line_error(
            dgm(*args, "--archive", str(db)), "older schema (0001", "dgm archive upgrade"
        )
    assert snapshot(tmp_path) == before
    r = dgm("archive", "upgrade", "--archive", str(db))
    assert r.returncode == 0 and "schema" in r.stdout, r.stderr
    assert revision(str(db)) != "0001"
    assert "old" in dgm("runs", "--archive", str(db)).stdout

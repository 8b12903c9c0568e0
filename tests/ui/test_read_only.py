"""The UI never writes: not a byte of a read-only SQLite file, and an older schema is
refused rather than migrated. As root, `dgm ui` runs here without the capabilities that
bypass file permissions, so a 0444 file in a 0555 directory is as read-only to it as to
any other user."""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from archive import ArchiveError, open_archive
from archive.db import to_url
from archive.schema import MIGRATIONS
from tests.ui.test_server import DGM, run_cli

NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]
REPO = Path(__file__).parents[2]


def unprivileged(cmd: list[str]) -> list[str]:
    return [*NO_DAC, *cmd] if os.geteuid() == 0 else cmd


def snapshot(folder: Path) -> dict[str, str]:
    """Every file in `folder` with the sha256 of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def pages(ids: dict[str, str]) -> list[str]:
    return [
        "/runs",
        "/live",
        f"/runs/{ids['run']}",
        f"/runs/{ids['run']}/live",
        f"/api/runs/{ids['run']}/tree",
        f"/api/runs/{ids['run']}/tree?node={ids['child']}",
        f"/agents/{ids['child']}",
        f"/agents/{ids['child']}/diff",
        f"/agents/{ids['cross']}/diff?against={ids['seed']}",
        f"/agents/{ids['child']}/evals/1",
        f"/calls/{ids['call']}",
    ]


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_browsing_a_read_only_file_changes_no_byte(
    sample_run: tuple[str, dict[str, str]], tmp_path: Path, journal: str
) -> None:
    """WAL is how dgm writes archives; a file in another journal mode would have its header
    rewritten by a connection that sets WAL."""
    src, ids = sample_run
    folder = tmp_path / "frozen"
    folder.mkdir()
    db = folder / "archive.db"
    shutil.copyfile(src, db)  # the writer closed cleanly: no -wal file is left
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA journal_mode = {journal}")
    conn.close()
    db.chmod(0o444)
    folder.chmod(0o555)
    before = snapshot(folder)
    proc = subprocess.Popen(
        unprivileged([*DGM, "ui", "--archive", str(db), "--port", "0"]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert "http://127.0.0.1:" in line, proc.stderr.read()  # type: ignore[union-attr]
        port = int(line.rsplit(":", 1)[1].strip("/\n "))
        for path in pages(ids):
            conn_ = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn_.request("GET", path)
            r = conn_.getresponse()
            assert r.status == 200, (path, r.read()[:300])
            r.read()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        folder.chmod(0o755)
    assert snapshot(folder) == before


def old_archive(url: str) -> None:
    """An archive at schema 0001 (before stats_seq), holding one run."""
    engine = sa.create_engine(to_url(url))
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(
            sa.text(
                "INSERT INTO runs (id, name, kind, status, config, totals, created_at, updated_at)"
                " VALUES ('aaaabbbbccccdddd', 'old', 'evolve', 'stopped', '{}', '{}', 0, 0)"
            )
        )
    engine.dispose()


def revision(url: str) -> str:
    engine = sa.create_engine(to_url(url))
    with engine.connect() as conn:
        rev = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    return str(rev)


def test_an_older_schema_is_refused_not_migrated(archive_url: str) -> None:
    old_archive(archive_url)
    with pytest.raises(ArchiveError, match=r"older schema \(0001.*`dgm archive upgrade --archive "):
        open_archive(archive_url, read_only=True)
    assert revision(archive_url) == "0001"


def test_dgm_ui_on_an_older_schema_says_how_to_upgrade(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    old_archive(str(db))
    before = snapshot(tmp_path)
    r = run_cli("ui", "--archive", str(db), "--port", "0")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert f"dgm archive upgrade --archive {db}" in r.stderr and "Traceback" not in r.stderr
    assert snapshot(tmp_path) == before
    assert run_cli("archive", "upgrade", "--archive", str(db)).returncode == 0  # the one it names
    assert revision(str(db)) != "0001"

"""Schema creation, the migration/model agreement, and archives this code must refuse."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from archive import ArchiveError, open_archive
from archive.models import Base
from archive.schema import HEAD, MIGRATIONS


def test_head_constant_is_the_newest_migration() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD


def test_upgrade_from_empty_matches_the_models(archive_url: str) -> None:
    a = open_archive(archive_url)
    with a.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == HEAD
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        tables = set(sa.inspect(conn).get_table_names())
    assert {"runs", "agents", "blobs", "evaluations", "tasks", "llm_calls", "events"} <= tables
    a.close()
    again = open_archive(archive_url)  # reopening an up-to-date archive changes nothing
    assert again.runs() == []
    again.close()


def test_sqlite_settings(tmp_path: Path) -> None:
    a = open_archive(tmp_path / "deep" / "dir" / "a.db")
    with a.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    a.close()
    durable = open_archive(tmp_path / "durable.db", durable=True)
    with durable.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    durable.close()


def test_newer_schema_is_refused(archive_url: str) -> None:
    a = open_archive(archive_url)
    run = a.create_run("keep me")
    with a.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    a.close()
    with pytest.raises(ArchiveError, match="newer dgm.*schema 9999.*upgrade dgm"):
        open_archive(archive_url)
    with a.engine.begin() as conn:  # nothing was touched: put the revision back and read
        conn.execute(sa.text(f"UPDATE alembic_version SET version_num = '{HEAD}'"))
    assert open_archive(archive_url).run(run).name == "keep me"


def test_missing_archive_is_not_created_for_readers(tmp_path: Path) -> None:
    path = tmp_path / "nothing.db"
    with pytest.raises(ArchiveError, match="no archive at .*nothing.db"):
        open_archive(path, create=False)
    assert not path.exists()


def test_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(
        ArchiveError, match="cannot use .*notes.db as an archive: file is not a database"
    ):
        open_archive(path)
    assert path.read_text().startswith("these are my notes")


def test_corrupt_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    a = open_archive(path)
    a.create_run("r")
    a.close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # wreck the schema page
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="cannot use .* as an archive"):
        open_archive(path)


def test_foreign_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(ArchiveError, match="not a dgm archive"):
        open_archive(path)


def test_bad_url_is_refused() -> None:
    with pytest.raises(ArchiveError):
        open_archive("nosuchdialect://x/y")


def test_upgrade_from_0001_keeps_the_data(archive_url: str) -> None:
    from alembic import command

    from archive.db import to_url

    engine = sa.create_engine(to_url(archive_url))
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(
            sa.text("INSERT INTO blobs (hash, size, depth, data) VALUES (:h, 0, 0, :d)"),
            {"h": b"\0" * 32, "d": b"x\x9c\x03\x00\x00\x00\x00\x01"},
        )
        conn.execute(
            sa.text(
                "INSERT INTO runs (id, name, kind, status, config, totals, created_at, updated_at)"
                " VALUES ('aaaabbbbccccdddd', 'old', 'evolve', 'stopped', '{}', '{}', 0, 0)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO agents (id, run_pk, generation, operator, status, score, scores, n_children,"
                " n_evaluated, n_resolved, cost_usd, manifest_pk, files_changed, lines_added, lines_removed,"
                " created_at) VALUES ('1111222233334444', (SELECT pk FROM runs), 0, 'seed', 'evaluated', 0.5,"
                " '{}', 0, 2, 1, 0, (SELECT pk FROM blobs), 0, 0, 0, 0)"
            )
        )
    engine.dispose()
    with open_archive(archive_url) as a:  # migrates to HEAD
        stats = a.candidate_stats("aaaabbbbccccdddd")
        assert [(s.agent_id, s.score, s.n_resolved, s.n_evaluated) for s in stats] == [
            ("1111222233334444", 0.5, 1, 2)
        ]
        child = a.add_agent("aaaabbbbccccdddd", {"a.py": b"new"}, parent_id="1111222233334444")
        assert [s.agent_id for s in a.candidate_stats("aaaabbbbccccdddd")] == [
            "1111222233334444",
            child,
        ]
        with a.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == HEAD

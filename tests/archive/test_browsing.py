"""The browsing queries (archive.browsing) on SQLite and PostgreSQL, and the standard-library
reader (archive.sqlite_reader) answering exactly as the Archive does on the same file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archive import ArchiveError, open_archive
from archive.sqlite_file import sqlite_file
from archive.sqlite_reader import SQLiteReader, open_reader
from dgm.cli import app
from tests.ui import sample


def test_queries_answer_what_was_stored(archive_url: str) -> None:
    with open_archive(archive_url) as a:
        ids = sample.build(a)
        empty = a.create_run("empty-run", kind="bench")
    with open_reader(archive_url) as r:
        newest, first = r.runs()
        assert (newest.id, newest.name, newest.kind, newest.n_agents) == (
            empty,
            "empty-run",
            "bench",
            0,
        )
        assert (newest.best_score, newest.best_agent_id, newest.cost_usd) == (None, None, 0.0)
        assert (first.id, first.n_agents, first.n_evaluated) == (ids["run"], 5, 4)
        assert (first.best_score, first.best_agent_id) == (0.75, ids["cross"])
        assert first.cost_usd == pytest.approx(0.0123)
        assert r.run(ids["run"]).config["workers"] == 2
        assert r.resolve_run(ids["run"][:5]) == r.resolve_run("sample-run") == ids["run"]
        assert r.resolve_agent(ids["cross"][:7].upper()) == ids["cross"]
        agents = r.agents(ids["run"])
        assert [x.id for x in agents] == [
            ids[k] for k in ("seed", "child", "other", "cross", "bad")
        ]
        cross = agents[3]
        assert (cross.parent_id, cross.second_parent_id, cross.generation) == (
            ids["child"],
            ids["other"],
            2,
        )
        assert cross.scores == {"full": 0.75} and cross.n_resolved == 3 and cross.origin is None
        assert agents[1].cost_usd == pytest.approx(0.0123)
        assert [x.id for x in r.agents(ids["run"], status="rejected")] == [ids["bad"]]
        assert [x.id for x in r.agents(ids["run"], status=["rejected", "pending"])] == [ids["bad"]]
        assert [x.id for x in r.agents(ids["run"], min_score=0.5)] == [ids["child"], ids["cross"]]
        best = r.best_agent(ids["run"])
        assert best is not None and best.id == ids["cross"]
        assert r.best_agent(empty) is None
        chain = [x.id for x in r.lineage(ids["cross"])]
        assert chain == [ids["seed"], ids["child"], ids["cross"]]  # first parents, root first
        assert [x.id for x in r.lineage(ids["seed"])] == [ids["seed"]]
        for bad_call, match in [
            (lambda: r.resolve_run("zz"), "no run matches 'zz'"),
            (lambda: r.resolve_agent(""), "no agent matches"),
            (lambda: r.lineage("0" * 16), "no agent"),
            (lambda: r.agents("0" * 16), "no run"),
        ]:
            with pytest.raises(ArchiveError, match=match):
                bad_call()
    with open_archive(archive_url, read_only=True) as a:
        assert a.agent(ids["child"]).origin is not None  # the store adds the origin blob


def test_the_stdlib_reader_answers_as_the_archive(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    with open_archive(db) as a:
        ids = sample.build(a)
        a.create_run("sample-run-2")
    with open_archive(db, read_only=True) as a, SQLiteReader(db) as r:
        assert r.runs() == a.runs()
        assert r.run(ids["run"]) == a.run(ids["run"])
        assert r.agents(ids["run"]) == a.agents(ids["run"])
        assert r.best_agent(ids["run"]) == a.best_agent(ids["run"])
        for role in ("seed", "child", "cross", "bad"):
            assert r.lineage(ids[role]) == a.lineage(ids[role])


def test_a_cycle_of_parents_ends(tmp_path: Path) -> None:
    """A hand-edited archive whose parents loop: the lineage ends instead of looping."""
    db = tmp_path / "a.db"
    with open_archive(db) as a:
        run = a.create_run("r")
        first = a.add_agent(run, {"a.py": b"1"})
        second = a.add_agent(run, {"a.py": b"2"}, parent_id=first)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("UPDATE agents SET parent_id = ? WHERE id = ?", (second, first))
    conn.commit()
    conn.close()
    with SQLiteReader(db) as r:
        assert {x.id for x in r.lineage(second)} == {first, second}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("a.db", Path.cwd() / "a.db"),
        ("/x/a.db", Path("/x/a.db")),
        ("sqlite:////x/a.db", Path("/x/a.db")),
        ("sqlite+pysqlite:////x/a.db?timeout=3", Path("/x/a.db")),
        ("sqlite:///rel.db", Path.cwd() / "rel.db"),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("postgresql://u:p@h/db", None),
    ],
)
def test_which_archives_are_sqlite_files(given: str, expected: Path | None) -> None:
    assert sqlite_file(given) == expected


def test_min_score_filters_on_the_raw_score_in_the_problems_direction(tmp_path: Path) -> None:
    """A 'min' problem's scores are stored negated; --min-score X keeps the agents at least
    as good as X as shown: raw score <= X there, >= X for a 'max' problem."""
    db = tmp_path / "a.db"
    with open_archive(db) as a:
        runs = {d: a.create_run(f"tsp-{d}", direction=d) for d in ("min", "max")}
        made: dict[str, dict[float, str]] = {"min": {}, "max": {}}
        for direction, run in runs.items():
            for raw in (5.5, 6.0, 7.25):
                agent = a.add_agent(run, {"h.py": f"x = {raw}\n".encode()})
                a.set_agent_score(agent, "problem", -raw if direction == "min" else raw)
                a.set_agent_status(agent, "evaluated")
                made[direction][raw] = agent
    wanted = {"min": [5.5, 6.0], "max": [6.0, 7.25]}
    with open_archive(db, read_only=True) as a, SQLiteReader(db) as r:
        for store in (a, r):
            for direction, run in runs.items():
                kept = [x.id for x in store.agents(run, min_score=6.0)]
                assert kept == [made[direction][raw] for raw in wanted[direction]]
    listed = CliRunner().invoke(
        app, ["archive", "list", runs["min"], "--min-score", "6", "--json", "--archive", str(db)]
    )
    assert listed.exit_code == 0, listed.output
    assert sorted(x["objective"] for x in json.loads(listed.output)) == [5.5, 6.0]

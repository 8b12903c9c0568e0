"""What the browsing commands show and resolve: a minimised problem's scores raw everywhere
(tables, trees, lineage, best, and every --json), never -0.000; a run's exact name wins over
an id prefix; a prefix naming an agent and a run is refused, not guessed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archive import open_archive
from tests.cli.conftest import CHILD, SEED
from tests.cli.runner import dgm


@pytest.fixture
def tsp(tmp_path: Path) -> tuple[Path, str, str, str]:
    """A 'min' run: the seed's tour is 6.27 long, its child's 0 (stored as fitness -6.27, -0)."""
    db = tmp_path / "a.db"
    with open_archive(db) as a:
        run = a.create_run("tsp-run", config={"problem": "tsp"}, direction="min")
        seed = a.add_agent(run, SEED, status="evaluated")
        child = a.add_agent(run, CHILD, parent_id=seed, operator="diff", status="evaluated")
        a.set_agent_score(seed, "problem", -6.27)
        a.set_agent_score(child, "problem", -0.0)
        a.set_run_status(run, "finished")
    return db, run, seed, child


def shown(args: list[str], db: Path) -> str:
    out = dgm([*args, "--archive", str(db)], db.parent, env={"COLUMNS": "250"})
    assert out.code == 0, out
    return out.stdout


def test_a_minimised_problem_is_shown_raw_everywhere(tsp: tuple[Path, str, str, str]) -> None:
    db, run, seed, child = tsp
    for args in (
        ["archive", "best", run],
        ["archive", "tree", run],
        ["archive", "lineage", child],
        ["archive", "list", run],
        ["archive", "show", seed],
        ["runs"],
    ):
        text = shown(args, db)
        assert "-6.27" not in text and "-0.000" not in text, (args, text)
        assert "6.270" in text or "0.000" in text, (args, text)
    assert "6.270" in shown(["archive", "lineage", child], db)
    assert "0.000 (min)" in shown(["archive", "best", run], db)

    listed = json.loads(shown(["archive", "list", run, "--json"], db))
    assert sorted(a["score"] for a in listed) == [0.0, 6.27]
    assert all(a["direction"] == "min" for a in listed)
    lineage = json.loads(shown(["archive", "lineage", child, "--json"], db))
    assert [a["score"] for a in lineage] == [6.27, 0.0]
    assert json.loads(shown(["archive", "best", run, "--json"], db))["score"] == 0.0
    (row,) = json.loads(shown(["runs", "--json"], db))
    assert row["best_score"] == 0.0 and row["direction"] == "min"


def test_a_runs_exact_name_wins_over_an_id_prefix(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    with open_archive(db) as a:
        first = a.create_run("first", config={})
        named = a.create_run(first[:6], config={})  # named like the start of the other's id
    assert shown(["archive", "manifest", first[:6]], db).count(named) >= 1
    assert json.loads(shown(["archive", "manifest", first[:6]], db))["run"] == named
    assert json.loads(shown(["archive", "manifest", first[:7]], db))["run"] == first


def test_a_prefix_of_an_agent_and_of_a_run_is_refused(tmp_path: Path) -> None:
    for attempt in range(200):  # ids are random: make one agent share the run's first digit
        db = tmp_path / f"a{attempt}.db"
        with open_archive(db) as a:
            run = a.create_run("r", config={})
            agent = a.add_agent(run, SEED, status="evaluated")
        if agent[0] == run[0]:
            break
    else:
        pytest.fail("no agent id ever shared its run's first digit")
    out = dgm(["bench", "export", agent[0], "--archive", str(db)], tmp_path)
    assert out.code == 2 and len(out.lines) == 1, out
    assert f"matches agent {agent} and run {run}" in out.lines[0]

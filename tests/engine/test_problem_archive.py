"""What a problem run keeps in the archive, on SQLite and PostgreSQL: the run's direction,
an evaluation's metrics, and reflections (a redone iteration replaces its own)."""

from __future__ import annotations

import pytest

from archive import ArchiveError
from archive.info import objective
from tests.engine.conftest import Harness


def test_direction_metrics_and_reflections_round_trip(harness: Harness) -> None:
    a = harness.archive
    run = a.create_run("tsp", direction="min")
    assert a.run(run).direction == "min" and a.run(a.create_run("swe")).direction is None
    with pytest.raises(ArchiveError, match="unknown direction 'up'"):
        a.create_run("x", direction="up")  # type: ignore[arg-type]
    agent = a.add_agent(run, {"problem/h.py": b"x = 1\n"})
    a.record_evaluation(
        agent, "tsp", 1, "problem", True, 6.5, {}, 0.5, metrics={"mean": 6.5, "n": 64.0}
    )
    a.set_agent_score(agent, "problem", -6.5)
    (e,) = a.evaluations(agent)
    assert (e.score, e.metrics) == (6.5, {"mean": 6.5, "n": 64.0})
    assert objective(a.agent(agent).score, "min") == 6.5
    with pytest.raises(ArchiveError, match="metrics must be JSON-serialisable"):
        a.record_evaluation(
            agent, "tsp", 1, "problem", True, 1.0, {}, 0.1, metrics={"x": float("nan")}
        )

    a.put_reflection(run, "short", 1, 4, "first try", [agent, agent])
    a.put_reflection(run, "long", 1, 6, "accumulated", [agent])
    a.put_reflection(run, "short", 1, 4, "redone", [agent])  # iteration 4 again, after a kill
    a.put_reflection(run, "short", 1, 5, "another pair", [])
    shorts = a.reflections(run, kind="short")
    assert [(r.iteration, r.text, r.agents) for r in shorts] == [
        (4, "redone", [agent]),
        (5, "another pair", []),
    ]
    (long,) = a.reflections(run, kind="long")
    assert (long.generation, long.iteration, long.text) == (1, 6, "accumulated")
    assert [r.kind for r in a.reflections(run)] == ["short", "short", "long"]

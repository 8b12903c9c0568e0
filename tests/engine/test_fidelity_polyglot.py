"""DGM's polyglot runs select parents on the first stage's score (docs/fidelity.md, DGM):
DGM_outer.py:63 reads `overall_performance`, which its polyglot harness leaves at the
10-task score (the 50-task one goes to `overall_performance_deep`,
self_improve_step.py:197-220). On the real loop, archive and gateway with a scripted model:
the same two agents, one better on the first stage and one better over both, and the
parent of the next child is the first on a polyglot suite, the second on SWE-bench's."""

from __future__ import annotations

import pytest

from dgm.config import Stage, load_config
from tests.engine.conftest import Harness, config

FIRST = ["t1", "t2"]
# A learns t1 (first stage 1/2, both stages 1/6); its child B swaps t1 for three tasks of
# the second stage only (first stage 0, both stages 3/6). The third child's parent is the
# best on the score selection reads (the `best` selector picks the top one).
ANSWERS = [
    "skills.txt\n<<<<<<< SEARCH\nskills:\n=======\nskills:\nt1\n>>>>>>> REPLACE\n",
    "skills.txt\n<<<<<<< SEARCH\nskills:\nt1\n=======\nskills:\nt3\nt4\nt5\n>>>>>>> REPLACE\n",
    "skills.txt\n<<<<<<< SEARCH\nskills:\n=======\nskills:\nt6\n>>>>>>> REPLACE\n",
]


@pytest.mark.parametrize(("suite", "parent_of_third"), [("polyglot-mini", "A"), ("swe-mini", "B")])
def test_polyglot_runs_select_on_the_first_stage_score(
    harness: Harness, suite: str, parent_of_third: str
) -> None:
    cfg = config(
        suite=suite,
        selector="best",
        max_iterations=3,
        select_on="first_stage_on_polyglot",
        stages=[Stage(name="small", tasks=FIRST), Stage(name="medium", tasks="full")],
    )
    run = harness.new_run(cfg)
    harness.run(run, cfg, ANSWERS)
    seed, a, b, third = harness.archive.agents(run)
    assert a.parent_id == seed.id and b.parent_id == a.id
    assert (a.scores["small"], b.scores["small"]) == (0.5, 0.0)
    assert (a.score, b.score) == pytest.approx((1 / 6, 3 / 6))
    assert third.parent_id == {"A": a.id, "B": b.id}[parent_of_third]


def test_dgm_paper_selects_on_the_first_stage_on_polyglot_only() -> None:
    from dgm.loop import first_stage_selection

    assert first_stage_selection(load_config("dgm-paper", {"suite": "polyglot-mini"}))
    assert first_stage_selection(load_config("dgm-paper", {"suite": "polyglot:/x"}))
    assert not first_stage_selection(load_config("dgm-paper"))
    assert not first_stage_selection(load_config("dgm", {"suite": "polyglot-mini"}))


def test_a_resumed_polyglot_run_still_selects_on_the_first_stage(harness: Harness) -> None:
    """The first stage's scores are read back from the archive on a resume."""
    stages = [Stage(name="small", tasks=FIRST), Stage(name="medium", tasks="full")]
    common = dict(suite="polyglot-mini", selector="best", select_on="first_stage_on_polyglot")
    run = harness.new_run(config(max_iterations=2, stages=stages, **common))
    harness.run(run, config(max_iterations=2, stages=stages, **common), ANSWERS[:2])
    harness.run(run, config(max_iterations=3, stages=stages, **common), ANSWERS[2:])
    seed, a, b, third = harness.archive.agents(run)
    assert b.parent_id == a.id and third.parent_id == a.id

"""The Engine driven by racing (config `race`, dgm/race.py), on a real archive and gateway
with the rule-based evaluator of conftest (an agent resolves a task iff it lists it): each
decision against the rule, the answer, the budget, crash + resume, several workers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from dgm import race
from dgm.config import HGMSettings, RaceSettings, RunConfig
from dgm.hgm import Decision, Evaluate, Expand, Situation
from tests.engine.conftest import SEED, TASKS, Harness, SkillEvaluator, config, learn

KNOWS_T1 = {**SEED, "skills.txt": b"skills:\nt1\n"}
ANSWERS = [learn(t) for t in TASKS[1:]] * 3


def race_config(**kw: Any) -> RunConfig:
    base: dict[str, Any] = dict(race=RaceSettings(), max_evaluations=30, max_iterations=50)
    return config(**{**base, **kw})


@dataclass
class Call:
    order: tuple[str, ...]
    members: list[race.Member]
    open_tasks: dict[str, tuple[str, ...]]
    decision: Decision | None


class Recording(race.Race):
    """The real policy, with what the engine asked and what it answered kept."""

    calls: ClassVar[list[Call]] = []

    def decide(self, now: Situation) -> Decision | None:
        decision = super().decide(now)
        members = [
            race.Member(m.agent_id, m.parent_id, dict(m.results))
            for m in race.members_of(now.candidates, now.results)
        ]
        Recording.calls.append(Call(self.order, members, dict(now.open_tasks), decision))
        return decision


def test_every_decision_follows_the_race(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dgm.loop.Race", Recording)
    Recording.calls = []
    cfg = race_config()
    run = harness.new_run(cfg)
    reason, _ = harness.run(run, cfg, ANSWERS, seed=KNOWS_T1)
    assert reason == "evaluation budget of 30 reached"
    error = cfg.race.error  # type: ignore[union-attr]
    for c in (c for c in Recording.calls if c.decision is not None):
        best = race.incumbent(c.members, c.order, error)
        if isinstance(c.decision, Expand):
            assert c.decision.parent_id == best.agent_id  # children come from the incumbent
            continue
        assert isinstance(c.decision, Evaluate)
        agent = next(m for m in c.members if m.agent_id == c.decision.agent_id)
        assert c.decision.task_id not in agent.results
        if agent.agent_id != best.agent_id:  # a child of the incumbent, still racing, paired
            assert agent.parent_id == best.agent_id
            assert race.verdict(agent, best, c.order, error) == "racing"
            assert c.decision.task_id in best.results
    pairs = harness.evaluated_pairs(run)
    assert len(pairs) == len(set(pairs)) == 30, "every evaluation recorded once"
    # The rule-based landscape: each child learns one more task; the race accepts it
    # (it beats its parent on the tasks both ran), so the answer is better than the seed.
    (final,) = harness.archive.events(run, kinds=["race_final"])
    agents = harness.archive.agents(run)
    assert final.payload["agent"] != agents[0].id
    assert final.payload["resolved"] >= 2
    results = {
        a.id: {e.task_id: bool(e.resolved) for e in harness.archive.evaluations(a.id)}
        for a in agents
    }
    members = [race.Member(a.id, a.parent_id, results[a.id]) for a in agents]
    order = Recording.calls[-1].order
    assert final.payload["agent"] == race.incumbent(members, order, error).agent_id


def test_a_broken_child_is_dropped_early(harness: Harness) -> None:
    # The seed knows every task; its child forgets them all. The first task the seed
    # solves and the child fails puts P(better) at 1/4, below a fresh child's 1/2: the
    # child is dropped after one task of six, and the seed ran only that one.
    listed = "\n".join(TASKS)
    everything = {**SEED, "skills.txt": f"skills:\n{listed}\n".encode()}
    forget = f"skills.txt\n<<<<<<< SEARCH\n{listed}\n=======\nnothing\n>>>>>>> REPLACE\n"
    cfg = race_config(max_evaluations=20, max_iterations=1)
    run = harness.new_run(cfg)
    reason, _ = harness.run(run, cfg, [forget], seed=everything)
    assert reason == "done: 1 iterations"
    seed, child = harness.archive.agents(run)
    assert len(harness.archive.evaluations(child.id)) == 1
    assert len(harness.archive.evaluations(seed.id)) == 1
    (final,) = harness.archive.events(run, kinds=["race_final"])
    assert final.payload == {"agent": seed.id, "resolved": 1, "evaluated": 1}


def test_resume_after_a_crash_loses_nothing_and_repeats_nothing(harness: Harness) -> None:
    cfg = race_config()
    run = harness.new_run(cfg)
    with pytest.raises(Crash):
        harness.run(
            run,
            cfg,
            ANSWERS,
            seed=KNOWS_T1,
            evaluator=SkillEvaluator(harness.archive, fail_on=12, exc=Crash()),
        )
    before = harness.evaluated_pairs(run)
    assert len(before) == 11  # the 12th was in flight when it died
    children = len(harness.archive.agents(run)) - 1
    reason, _ = harness.run(run, cfg, ANSWERS[children:], seed=KNOWS_T1)
    after = harness.evaluated_pairs(run)
    assert set(before) <= set(after), "nothing evaluated is lost"
    assert len(after) == len(set(after)) == 30, "nothing is evaluated twice; the budget holds"
    assert reason == "evaluation budget of 30 reached"


class Crash(BaseException):
    """The process dying mid-evaluation."""


def test_several_workers_never_run_a_pair_twice(harness: Harness) -> None:
    cfg = race_config(workers=3)
    run = harness.new_run(cfg)
    reason, _ = harness.run(run, cfg, ANSWERS, seed=KNOWS_T1)
    assert reason == "evaluation budget of 30 reached"
    pairs = harness.evaluated_pairs(run)
    assert len(pairs) == len(set(pairs)) == 30


def test_race_refuses_a_problem_run_and_hgm_beside_it() -> None:
    with pytest.raises(ValueError, match="race schedules a suite's tasks"):
        config(race=RaceSettings(), problem="x", operator="reevo")
    with pytest.raises(ValueError, match="set one of them"):
        config(race=RaceSettings(), hgm=HGMSettings())

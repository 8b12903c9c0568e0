"""The Engine driven by HGM's scheduler (config `hgm`), on a real archive and gateway with
the rule-based evaluator of conftest: each decision against HGM's rule, the budget in task
evaluations, crash + resume, reproducibility, the final agent. The same in the real Docker
sandbox through `dgm run`: tests/engine/test_hgm_cli.py."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from dgm import hgm
from dgm.config import HGMSettings, NoveltySettings, RunConfig
from tests.engine.conftest import SEED, TASKS, Harness, SkillEvaluator, config, learn

KNOWS_T1 = {**SEED, "skills.txt": b"skills:\nt1\n"}  # a seed with a success: HGM can expand
ANSWERS = [learn(t) for t in TASKS[1:]] * 3


def hgm_config(**kw: Any) -> RunConfig:
    base: dict[str, Any] = dict(
        hgm=HGMSettings(alpha=0.6, min_results_for_final=4),
        max_evaluations=24,
        max_iterations=50,
    )
    return config(**{**base, **kw})


@dataclass
class Call:
    nodes: list[hgm.Node]
    dispatched: int
    pending: int
    may_expand: bool
    decision: hgm.Decision | None


class Recording(hgm.Scheduler):
    """The real scheduler, with what the engine asked and what it answered kept."""

    calls: ClassVar[list[Call]] = []

    def decide(self, now: hgm.Situation) -> hgm.Decision | None:
        decision = super().decide(now)
        nodes = hgm.tree(now.candidates, now.open_tasks)
        pending, may = now.pending_expansions, now.may_expand
        Recording.calls.append(Call(nodes, now.dispatched, pending, may, decision))
        return decision


def test_every_decision_follows_hgms_rule(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("dgm.loop.Scheduler", Recording)
    Recording.calls = []
    cfg = hgm_config()
    run = harness.new_run(cfg)
    reason, _ = harness.run(run, cfg, ANSWERS, seed=KNOWS_T1)
    assert reason == "evaluation budget of 24 reached"
    calls = [c for c in Recording.calls if c.decision is not None]
    evaluations = expansions = 0
    for c in calls:
        # The engine's inputs are the real counts: one worker, so nothing is in flight.
        assert c.dispatched == evaluations and c.pending == 0
        assert len(c.nodes) == 1 + expansions
        wants = hgm.wants_expansion(c.dispatched, len(c.nodes), 0, 0.6)
        has_parent = any(n.n_resolved > 0 for n in c.nodes)
        if isinstance(c.decision, hgm.Expand):
            assert wants and has_parent or not any(n.open_tasks for n in c.nodes)
            assert next(n for n in c.nodes if n.agent_id == c.decision.parent_id).n_resolved > 0
            expansions += 1
        else:
            assert isinstance(c.decision, hgm.Evaluate)
            assert not (wants and has_parent), "the rule said expand"
            chosen = next(n for n in c.nodes if n.agent_id == c.decision.agent_id)
            assert c.decision.task_id in chosen.open_tasks
            evaluations += 1
    agents = harness.archive.agents(run)
    assert expansions == len(agents) - 1 >= 4  # 24 ** 0.6 = 6.7: the tree kept growing
    pairs = harness.evaluated_pairs(run)
    assert len(pairs) == len(set(pairs)) == evaluations == 24, "every evaluation recorded once"
    assert {s for _, s in _stages(harness, run)} == {"hgm"}
    # No fixed stages: some agents ran only part of the tasks, and no gate stopped them.
    counts = Counter(a for a, _ in pairs)
    assert any(0 < counts[a.id] < len(TASKS) for a in agents)
    kinds = Counter(e.kind for e in harness.archive.events(run))
    assert kinds["hgm_final"] == 1 and kinds["job_finished"] == expansions


def _stages(h: Harness, run: str) -> list[tuple[str, str]]:
    return [(a.id, e.stage) for a in h.archive.agents(run) for e in h.archive.evaluations(a.id)]


def test_the_final_agent_is_the_best_posterior_mean_with_enough_results(
    harness: Harness,
) -> None:
    cfg = hgm_config(max_evaluations=40)
    run = harness.new_run(cfg)
    harness.run(run, cfg, ANSWERS, seed=KNOWS_T1)
    (final,) = harness.archive.events(run, kinds=["hgm_final"])
    stats = {
        a.id: (
            sum(e.resolved for e in harness.archive.evaluations(a.id)),
            len(harness.archive.evaluations(a.id)),
        )
        for a in harness.archive.agents(run)
    }
    qualified = {a: (s + 1) / (n + 2) for a, (s, n) in stats.items() if n >= 4}
    assert final.payload["agent"] in qualified
    assert qualified[final.payload["agent"]] == max(qualified.values())
    assert final.payload["posterior_mean"] == pytest.approx(max(qualified.values()), abs=1e-4)


class Crash(BaseException):
    """The process dying mid-evaluation (the kill -9 test is in test_hgm_cli.py)."""


def test_resume_after_a_crash_loses_nothing_and_repeats_nothing(harness: Harness) -> None:
    cfg = hgm_config()
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
    assert len(after) == len(set(after)) == 24, "nothing is evaluated twice; the budget holds"
    assert reason == "evaluation budget of 24 reached"
    sessions = harness.archive.events(run, kinds=["session_started"])
    assert [s.payload["resumed"] for s in sessions] == [False, True]


def test_same_seed_same_run(harness: Harness, tmp_path_factory: pytest.TempPathFactory) -> None:
    def tree(h: Harness, seed: int) -> list[tuple[int, int, int]]:
        cfg = hgm_config(seed=seed)
        run = h.new_run(cfg)
        h.run(run, cfg, ANSWERS, seed=KNOWS_T1)
        agents = h.archive.agents(run)
        index = {a.id: i for i, a in enumerate(agents)}
        return [
            (index.get(a.parent_id, -1), len(h.archive.evaluations(a.id)), i)
            for i, a in enumerate(agents)
        ]

    other = Harness(tmp_path_factory.mktemp("other") / "archive.db")
    assert tree(harness, 5) == tree(other, 5)
    trees = {
        tuple(tree(Harness(tmp_path_factory.mktemp(f"s{s}") / "archive.db"), s)) for s in range(4)
    }
    assert len(trees) > 1, "the seed must matter"


def test_hgm_refuses_a_problem_run() -> None:
    with pytest.raises(ValueError, match="hgm schedules a suite's tasks"):
        config(hgm=HGMSettings(), problem="x", operator="reevo")


def test_several_workers_count_what_is_in_flight(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("dgm.loop.Scheduler", Recording)
    Recording.calls = []
    # The scripted answers repeat: with the duplicate check on, a repeat is rejected and
    # makes no node, and this count wants every expansion to make one.
    cfg = hgm_config(workers=3, novelty=NoveltySettings(duplicates=False))
    run = harness.new_run(cfg)
    reason, _ = harness.run(run, cfg, ANSWERS, seed=KNOWS_T1)
    assert reason == "evaluation budget of 24 reached"
    calls = [c for c in Recording.calls if c.decision is not None]
    expands = 0
    for i, c in enumerate(calls):
        # N counts evaluations dispatched, in flight included; the tree, plus the
        # expansions in flight, is every expansion decided so far (none fails here).
        assert c.dispatched == sum(isinstance(d.decision, hgm.Evaluate) for d in calls[:i])
        assert len(c.nodes) + c.pending == 1 + expands
        expands += isinstance(c.decision, hgm.Expand)
    assert any(c.pending > 0 for c in calls), "an expansion was in flight at some decision"
    pairs = harness.evaluated_pairs(run)
    assert len(pairs) == len(set(pairs)) == 24

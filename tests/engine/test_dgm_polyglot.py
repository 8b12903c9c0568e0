"""DGM's polyglot runs as its released code does them (docs/fidelity.md, DGM), on the real
loop, archive and gateway with a scripted model:

- the seed's score is over the whole suite (DGM's cached initial score covers all 225
  exercises, initial_polyglot/metadata.json:4-6): the seed runs every task once, and that
  score is what parents are selected on, also after a resume (`seed_tasks`);
- the focus of a self-modification is a random failed task of the parent's selection score
  (a child's first stage, the seed's whole suite), with DGM's polyglot prompts: the
  stochasticity advice (p 0.25), else the empty-patch advice for an empty patch, else the
  task, each with that task's log; no SWE-bench special case (DGM_outer.py:117-120,
  prompts/self_improvement_prompt.py:360-368; `focus`).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Mapping
from pathlib import Path

import pytest

from archive import open_archive
from dgm.config import Stage, load_config
from dgm.llm.gateway import Gateway
from dgm.llm.scripted import ScriptedEntry, ScriptedProvider
from dgm.loop import Engine, StagePlan
from dgm.mutators import EvalView
from dgm.mutators.chat import GatewayChat
from dgm.mutators.diagnosis import AGENT_SUMMARY
from dgm.mutators.factories import focus_pools, lineage_patches
from dgm.mutators.focus import (
    FOCUS_TEXT,
    POLYGLOT_TEXT,
    choose_focus,
    choose_polyglot_focus,
    polyglot_rules,
)
from dgm.mutators.self_modify import SelfModifyMutator, SelfModifyRun
from tests.engine.conftest import MAIN, TASKS, Harness, config, knows, record_result, stages_for
from tests.engine.test_dgm_fidelity import PROPOSAL, task

STAGES = [
    Stage(name="small", tasks=["t1", "t2"]),
    Stage(name="medium", tasks=["t3", "t4"], threshold=0.4),
]
# DGM's polyglot settings as dgm-paper gives them (the suite names a polyglot one).
PAPER = dict(
    stages=STAGES,
    seed_every_stage=True,
    seed_tasks="suite_on_polyglot",
    select_on="first_stage_on_polyglot",
    focus="by_suite",
    selector="best",
    workers=1,
)
LEARN_T1 = "skills.txt\n<<<<<<< SEARCH\nskills:\n=======\nskills:\nt1\n>>>>>>> REPLACE\n"
LEARN_T2 = "skills.txt\n<<<<<<< SEARCH\nskills:\n=======\nskills:\nt2\n>>>>>>> REPLACE\n"
# The seed knows every task outside the first stage: 0 on its first stage, 4/6 on the suite.
STRONG_SEED = {"__main__.py": MAIN, "skills.txt": b"skills:\nt3\nt4\nt5\nt6\n"}


@pytest.mark.parametrize(
    ("suite", "seed_tasks"), [("polyglot-mini", TASKS), ("swe-mini", TASKS[:4])]
)
def test_the_polyglot_seed_is_scored_once_on_the_whole_suite_and_selected_on_it(
    harness: Harness, suite: str, seed_tasks: list[str]
) -> None:
    """Child A (t1 learnt) scores 1/2 on the first stage; the seed 0 there but 4/6 over the
    suite. Selected on the first stage, the next parent is the seed on polyglot (its suite
    score, as DGM's cached one), and A on SWE-bench (all stages: seed 2/4, A 3/4)."""
    cfg = config(suite=suite, max_iterations=2, **PAPER)
    run = harness.new_run(cfg)
    harness.run(run, cfg, [LEARN_T1, LEARN_T2], seed=STRONG_SEED)
    seed, a, b = harness.archive.agents(run)
    assert sorted(e.task_id for e in harness.archive.evaluations(seed.id)) == seed_tasks
    assert sorted(e.task_id for e in harness.archive.evaluations(a.id)) == TASKS[:4]
    assert a.scores["small"] == 0.5
    if suite == "polyglot-mini":
        assert seed.scores["suite"] == pytest.approx(4 / 6) and seed.score == pytest.approx(4 / 6)
        assert b.parent_id == seed.id
    else:
        assert "suite" not in seed.scores and seed.score == 0.5
        assert b.parent_id == a.id


@pytest.mark.parametrize(
    ("suite", "status"), [("polyglot-mini", "rejected"), ("swe-mini", "evaluated")]
)
def test_keep_better_compares_the_selection_scores(
    harness: Harness, suite: str, status: str
) -> None:
    """DGM's keep_better reads `overall_performance` (DGM_outer.py:167-185): on polyglot A's
    first stage (1/2) is below the seed's suite score minus 0.1 (4/6 - 0.1); on SWE-bench
    A's 3/4 over both stages clears the seed's 2/4 - 0.1."""
    cfg = config(suite=suite, max_iterations=1, **{**PAPER, "admission": "keep_better"})
    run = harness.new_run(cfg)
    harness.run(run, cfg, [LEARN_T1], seed=STRONG_SEED)
    _, a = harness.archive.agents(run)
    assert a.status == status, a.reason


def test_a_resumed_polyglot_run_selects_on_the_seed_suite_score(harness: Harness) -> None:
    cfg = config(suite="polyglot-mini", max_iterations=1, **PAPER)
    run = harness.new_run(cfg)
    harness.run(run, cfg, [LEARN_T1], seed=STRONG_SEED)
    harness.run(run, config(suite="polyglot-mini", max_iterations=2, **PAPER), [LEARN_T2])
    seed, a, b = harness.archive.agents(run)
    assert len(harness.archive.evaluations(seed.id)) == len(TASKS)  # scored once, not again
    assert a.parent_id == seed.id and b.parent_id == seed.id


def view(task_id: str, resolved: bool = False, empty: bool = False) -> EvalView:
    return EvalView(
        task_id,
        resolved,
        "empty_patch" if empty else None,
        "" if empty else "diff",
        f"[log {task_id}]",
    )


def test_the_polyglot_focus_is_a_failed_task_of_the_pool_without_swe_bench_cases() -> None:
    evals = [view("t1", resolved=True), view("t2", empty=True), view("t3"), view("t9")]
    seen = [choose_polyglot_focus(evals, random.Random(i), {"t1", "t2", "t3"}) for i in range(400)]
    assert all(f is not None and f.polyglot for f in seen)
    by_task = {f.task_id for f in seen if f}
    assert by_task == {"t2", "t3"}  # failed ones of the pool: not the resolved t1, nor t9
    kinds = {(f.task_id, f.kind) for f in seen if f}
    assert kinds == {
        ("t2", "stochasticity"),
        ("t2", "empty_patch"),
        ("t3", "stochasticity"),
        ("t3", "unresolved"),
    }
    share = sum(f.kind == "stochasticity" for f in seen if f) / len(seen)
    assert 0.18 < share < 0.32  # DGM's 0.25
    # Everything resolved: any task of the pool, with the task prompt (DGM's fallback).
    solved = [view("t1", resolved=True), view("t2", resolved=True)]
    fallback = [choose_polyglot_focus(solved, random.Random(i)) for i in range(50)]
    assert {f.kind for f in fallback if f} == {"resolved", "stochasticity"}
    assert choose_polyglot_focus(evals, random.Random(0), {"t7"}) is None
    # SWE-bench's rules draw task-less special cases the polyglot ones never do.
    swe = {choose_focus(evals, random.Random(i)).kind for i in range(200)}  # type: ignore[union-attr]
    assert "stochasticity" in swe and all(
        f.task_id for f in seen if f and f.kind == "stochasticity"
    )


def test_dgm_paper_uses_the_polyglot_focus_on_polyglot_suites_only() -> None:
    paper = load_config("dgm-paper", {"suite": "polyglot-mini"})
    assert polyglot_rules(paper.focus, paper.suite)
    assert not polyglot_rules(load_config("dgm-paper").focus, "swe-mini")
    assert not polyglot_rules(load_config("dgm", {"suite": "polyglot-mini"}).focus, "polyglot-mini")
    plans = [StagePlan("small", ("t1", "t2"), 0.0), StagePlan("medium", ("t3",), 0.4)]
    assert focus_pools(paper, plans) == (frozenset({"t1", "t2"}), None)
    assert focus_pools(load_config("dgm-paper"), plans) == (None, None)


class LogEvaluator:
    """Resolves a task iff the agent lists it; t2's patch is always empty; each task's log
    names the task, so a diagnosis shows which task's log it holds."""

    def __init__(self, archive: object) -> None:
        self.archive = archive

    def evaluate(self, agent_id: str, files: Mapping[str, bytes], task_id: str, stage: str) -> bool:
        resolved = knows(files, task_id)
        empty = task_id == "t2" and not resolved
        return record_result(
            self.archive,
            agent_id,
            task_id,
            stage,
            resolved,
            patch="" if empty else "diff --git a/x b/x\n+edit\n",
            trajectory=f"[log of {task_id}]",
        )


class NewFileRunner:
    """The parent agent's run on its own code: it adds one new file each time."""

    def __init__(self) -> None:
        self.n = 0
        self.problems: list[str] = []

    def run(self, agent_id: str, files: Mapping[str, bytes], problem: str) -> SelfModifyRun:
        self.n += 1
        self.problems.append(problem)
        return SelfModifyRun({**files, f"note{self.n}.txt": b"x"}, "ok", "", "[]")


def test_dgm_paper_polyglot_self_modification_focus_end_to_end(tmp_path: Path) -> None:
    cfg = config(
        suite="polyglot-mini",
        operator="self_modify",
        max_iterations=10,
        seed=2,
        **{**PAPER, "selector": "score_child_prop"},
    )
    archive = open_archive(tmp_path / "a.db")
    run = archive.create_run("dgm-polyglot", config=cfg.model_dump(), seed=cfg.seed)
    stages = stages_for(cfg)
    pool, seed_pool = focus_pools(cfg, stages)
    provider = ScriptedProvider([ScriptedEntry(pattern=".", content=PROPOSAL)])
    runner = NewFileRunner()
    with Gateway(provider, archive=archive, run_id=run) as gw:
        mutator = SelfModifyMutator(
            runner,  # type: ignore[arg-type]
            tasks={t: task(t) for t in TASKS},
            lineage=lineage_patches(archive),
            polyglot=polyglot_rules(cfg.focus, cfg.suite),
            pool=pool,
            seed_pool=seed_pool,
        )
        engine = Engine(
            archive=archive,
            run_id=run,
            config=cfg,
            stages=stages,
            evaluator=LogEvaluator(archive),
            mutator=mutator,
            chat=GatewayChat(gw),
            problem_statements={t: f"please solve {t}" for t in TASKS},
            seed_files={"__main__.py": MAIN, "skills.txt": b"skills:\nt5\n"},
        )
        asyncio.run(engine.run())
    seed, *children = archive.agents(run)
    assert len(children) == 10
    origins = [archive.agent(c.id).origin or {} for c in children]
    focus = [(c.parent_id == seed.id, o["focus"]) for c, o in zip(children, origins, strict=True)]
    for from_seed, f in focus:
        assert f["task_id"] is not None and f["kind"] != "context_length"
        # The seed's pool is its whole suite, a child's its first stage; failed tasks only.
        assert f["task_id"] in ({"t1", "t2", "t3", "t4", "t6"} if from_seed else {"t1", "t2"})
        assert f["kind"] in (
            {"stochasticity", "empty_patch"}
            if f["task_id"] == "t2"
            else {"stochasticity", "unresolved"}
        )
    assert any(from_seed and f["task_id"] in {"t3", "t4", "t6"} for from_seed, f in focus)
    assert any(not from_seed for from_seed, _ in focus)
    diagnoses = [json.loads(c.request)["messages"][1]["content"] for c in archive.llm_calls(run)]
    assert len(diagnoses) == len(children)
    for user in diagnoses:
        assert "# Agent log\n[log of t" in user  # every focus comes with its task's log
        assert FOCUS_TEXT["stochasticity"] not in user and FOCUS_TEXT["empty_patch"] not in user
    assert any(user.startswith(POLYGLOT_TEXT["unresolved"]) for user in diagnoses)
    assert any(user.startswith(POLYGLOT_TEXT["stochasticity"]) for user in diagnoses)
    # The self-modifying agent gets the agent summary with the proposal, as DGM's does.
    proposal = json.loads(PROPOSAL)
    assert len(runner.problems) == len(children)
    for problem in runner.problems:
        assert AGENT_SUMMARY in problem and proposal["implementation_suggestion"] in problem


def test_the_dry_run_counts_the_seed_suite_evaluations(tmp_path: Path) -> None:
    """`dgm run dgm-paper --dry-run` on a polyglot suite says the seed runs the rest of
    the suite (polyglot-mini: 6 exercises, 3 of them in the stages)."""
    from tests.cli.runner import dgm

    (tmp_path / "script.yaml").write_text("- content: hi\n")
    stages = (
        "stages=[{name: small, tasks: [polyglot__python-change-machine, "
        "polyglot__python-split-bill]}, {name: medium, tasks: [polyglot__python-timesheet], "
        "threshold: 0.4}]"
    )
    args = ["run", "dgm-paper", "--model", "scripted:script.yaml", "--max-iterations", "2"]
    out = dgm([*args, "--suite", "polyglot-mini", "--set", stages, "--dry-run"], tmp_path)
    assert out.code == 0, out
    assert "the seed also runs the suite's other 3 task(s), once (seed_tasks)" in out.stdout
    swe = dgm([*args, "--dry-run"], tmp_path)
    assert swe.code == 0 and "the seed also runs" not in swe.stdout, swe


def test_the_swe_bench_context_case_looks_at_failed_tasks_only() -> None:
    """DGM checks the empty and unresolved tasks' logs for the context error
    (DGM_outer.py:137): a resolved task that hit it does not make the case."""
    hit = EvalView("t1", True, "context_length", "diff", "")
    failed = EvalView("t2", False, None, "diff", "")
    kinds = {choose_focus([hit, failed], random.Random(i)).kind for i in range(300)}  # type: ignore[union-attr]
    assert kinds == {"stochasticity", "unresolved"}
    missed = EvalView("t1", False, "context_length", "diff", "")
    kinds = {choose_focus([missed, failed], random.Random(i)).kind for i in range(300)}  # type: ignore[union-attr]
    assert "context_length" in kinds

"""Runs to compare, written through the archive's own API as the engine writes them: a
seed sweep of one config (three seeds) and one run of another config, on a 'min' problem.

Each run: a seed agent scored 10.0, then children in order with the raw scores given
(None: rejected before evaluation, with its reason), each evaluated agent with one
evaluation, an `agent_finalised` event, and one priced LLM call per child made just
before it; the sweep's runs have a held-out score of their best.
"""

from __future__ import annotations

from dataclasses import dataclass

from archive import Archive, LLMCallRecord
from dgm.heldout import KIND

SEED_SCORE = 10.0
SWEEP = {1: [9.0, None, 6.0, 5.0], 2: [8.0, 8.0, 4.0, None], 3: [10.0, 7.0, None, 7.5]}
OTHER = [9.5, 9.0, 8.5, 8.0]  # another config (operator): one run
REJECTED = "changes nothing: the child's code equals its parent's"
CALL_USD = 0.01


@dataclass(frozen=True)
class Sample:
    sweep: list[str]  # the sweep's run ids, by seed 1, 2, 3
    other: str


def add_run(archive: Archive, seed: int, operator: str, children: list[float | None]) -> str:
    config = {"problem": "/p", "operator": operator, "max_iterations": 4, "seed": seed}
    run = archive.create_run(f"{operator}-p-seed{seed}", config=config, seed=seed, direction="min")
    parent = add_agent(archive, run, None, SEED_SCORE, 0)
    for i, raw in enumerate(children, 1):
        archive.record_llm_call(
            LLMCallRecord(
                run,
                None,
                None,
                "mutate",
                "m",
                10,
                10,
                CALL_USD,
                0.1,
                b"{}",
                b"{}",
                None,
                f"k{run}{i}",
            )
        )
        child = add_agent(archive, run, parent, raw, i)
        if raw is not None:
            parent = child
    archive.set_run_status(run, "finished")
    return run


def add_agent(archive: Archive, run: str, parent: str | None, raw: float | None, i: int) -> str:
    files = {"problem/p.py": f"X = {i}\n".encode()}
    if raw is None:
        return archive.add_agent(
            run, files, parent_id=parent, operator="diff", status="rejected", reason=REJECTED
        )
    agent = archive.add_agent(run, files, parent_id=parent, operator="diff" if parent else "seed")
    archive.record_evaluation(agent, "p", 1, "problem", True, raw, {}, 0.5)
    archive.set_agent_score(agent, "problem", -raw)  # fitness of a 'min' problem
    archive.set_agent_status(agent, "evaluated")
    archive.append_event(
        run, "agent_finalised", {"agent": agent, "score": -raw, "status": "evaluated"}
    )
    return agent


def build(archive: Archive) -> Sample:
    sweep = [add_run(archive, seed, "diff", children) for seed, children in SWEEP.items()]
    for run in sweep:
        best = archive.best_agent(run)
        assert best is not None and best.score is not None
        archive.append_event(
            run,
            KIND,
            {
                "agent": best.id,
                "ok": True,
                "score": -best.score + 0.5,
                "failure": None,
                "run_score": -best.score,
                "metrics": {},
                "duration_s": 0.1,
            },
        )
    other = add_run(archive, 1, "line_edit", OTHER)
    return Sample(sweep, other)

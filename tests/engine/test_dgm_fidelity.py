"""DGM as its released code runs it (docs/fidelity.md, DGM), on the real loop, archive and
gateway with a scripted model: children counted as archive members only, a child whose
every patch was empty not admitted, an empty self-modification making no child, and the
diagnosis holding what DGM's holds (the hidden test patch, the FAIL_TO_PASS and
PASS_TO_PASS results, the agent summary, the lineage's patches).

The self-modification's sandboxed run is stood in for by `EditRunner` (the parent agent's
edits, as a list): what this test checks is what the loop and the operator do with them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path

from archive import open_archive
from benchmarks.task import Task
from dgm.config import Stage
from dgm.llm.gateway import Gateway
from dgm.llm.scripted import ScriptedEntry, ScriptedProvider
from dgm.loop import Engine
from dgm.mutators.chat import GatewayChat
from dgm.mutators.diagnosis import diagnosis_messages, fit
from dgm.mutators.factories import lineage_patches
from dgm.mutators.focus import Focus
from dgm.mutators.self_modify import SelfModifyMutator, SelfModifyRun
from dgm.selectors import member_children
from tests.engine.conftest import SEED, TASKS, config, knows, record_result, stages_for

PROPOSAL = json.dumps(
    {
        "log_summarization": "The agent edited nothing useful.",
        "potential_improvements": ["read the failing test first"],
        "improvement_proposal": "Read the failing test before editing.",
        "implementation_suggestion": "Add a step that runs the tests first.",
        "problem_description": "The agent should run the tests before editing.",
    }
)
TEST_PATCH = "diff --git a/tests/test_t.py b/tests/test_t.py\n+def test_hidden_marker(): ..."


def task(task_id: str) -> Task:
    return Task(
        instance_id=task_id,
        repo="toy",
        base_commit="0" * 40,
        problem_statement=f"please solve {task_id}",
        patch="",
        test_patch=TEST_PATCH,
        FAIL_TO_PASS=[f"tests/test_t.py::test_{task_id}"],
        PASS_TO_PASS=["tests/test_t.py::test_old"],
    )


class PatchEvaluator:
    """Resolves a task iff the agent lists it in skills.txt; an agent whose files hold
    `silent.txt` never writes a patch (an empty patch, as SWE-bench records one)."""

    def __init__(self, archive: object) -> None:
        self.archive = archive

    def evaluate(self, agent_id: str, files: Mapping[str, bytes], task_id: str, stage: str) -> bool:
        resolved = knows(files, task_id)
        return record_result(
            self.archive,
            agent_id,
            task_id,
            stage,
            resolved,
            patch="" if "silent.txt" in files else "diff --git a/x b/x\n+edit\n",
            tests={f"tests/test_t.py::test_{task_id}": "PASSED" if resolved else "FAILED"},
            trajectory="[agent log]",
        )


class EditRunner:
    """The parent agent's runs on its own code, in order: each returns the parent's files
    with these files changed (an empty mapping: it changed nothing)."""

    def __init__(self, edits: list[dict[str, bytes]]) -> None:
        self.edits = edits

    def run(self, agent_id: str, files: Mapping[str, bytes], problem: str) -> SelfModifyRun:
        return SelfModifyRun({**files, **self.edits.pop(0)}, "ok", "", "[]")


def test_dgm_counts_children_filters_empty_patches_and_shows_the_test_patch(
    tmp_path: Path,
) -> None:
    cfg = config(
        operator="self_modify",
        selector="score_child_prop",
        max_iterations=4,
        seed=3,
        stages=[Stage(name="small", tasks="small")],
    )
    archive = open_archive(tmp_path / "a.db")
    run = archive.create_run("dgm-fidelity", config=cfg.model_dump(), seed=cfg.seed)
    runner = EditRunner(
        [
            {"silent.txt": b"1"},  # evaluated, but every patch empty: not admitted
            {},  # changed nothing: no child at all
            {"skills.txt": b"skills:\nt1\n"},  # admitted
            {"skills.txt": b"skills:\nt1\nt2\n"},
        ]
    )
    provider = ScriptedProvider([ScriptedEntry(pattern=".", content=PROPOSAL)])
    with Gateway(provider, archive=archive, run_id=run) as gw:
        mutator = SelfModifyMutator(
            runner,  # type: ignore[arg-type]
            tasks={t: task(t) for t in TASKS},
            lineage=lineage_patches(archive),
        )
        engine = Engine(
            archive=archive,
            run_id=run,
            config=cfg,
            stages=stages_for(cfg),
            evaluator=PatchEvaluator(archive),
            mutator=mutator,
            chat=GatewayChat(gw),
            problem_statements={t: f"please solve {t}" for t in TASKS},
            seed_files=SEED,
        )
        asyncio.run(engine.run())
    agents = archive.agents(run)
    seed, children = agents[0], agents[1:]
    failed = archive.events(run, kinds=["expansion_failed"])
    assert [e.payload["reason"] for e in failed if "changed nothing" in str(e.payload)] == [
        "the self-modification changed nothing: no child"
    ]
    silent = next(c for c in children if "silent.txt" in archive.agent_files(c.id))
    assert silent.status == "rejected" and silent.reason.startswith("every patch was empty")
    admitted = [c for c in children if c.status == "evaluated"]
    assert admitted, "a child that resolves a task is admitted"
    stats = {c.agent_id: c for c in archive.candidate_stats(run)}
    members = {c.agent_id: c for c in member_children(list(stats.values()))}
    made = [c for c in children if c.parent_id == seed.id]
    assert stats[seed.id].n_children == len(made)  # every child created
    assert members[seed.id].n_children == sum(c.status == "evaluated" for c in made)
    assert members[seed.id].n_children < stats[seed.id].n_children
    diagnoses = [
        json.loads(c.request)["messages"] for c in archive.llm_calls(run) if c.purpose == "diagnose"
    ]
    on_a_task = [m for m in diagnoses if "# Agent log" in m[1]["content"]]
    assert on_a_task, "some diagnosis was of an unresolved task"
    for system, user in on_a_task:
        assert system["role"] == "system" and "# Coding agent summary" in system["content"]
        assert "### skills.txt" in system["content"]  # the agent's whole code
        assert TEST_PATCH in user["content"] and "[agent log]" in user["content"]
        assert "✗ tests/test_t.py::test_t" in user["content"]  # FAIL_TO_PASS, failed
        assert "tests/test_t.py::test_old" in user["content"]  # PASS_TO_PASS
    grandchildren = [c for c in children if c.parent_id not in (None, seed.id)]
    for child in grandchildren:  # the lineage's patches are shown with the code
        assert lineage_patches(archive)(child.id)[0].startswith("diff --git")


def test_the_diagnosis_is_clipped_only_to_fit_and_the_log_first() -> None:
    parts = {"code": "C" * 100, "log": "L" * 1000, "issue": "I" * 100, "test_patch": "T" * 100}
    assert fit(parts, 10_000) == parts
    clipped = fit(parts, 800)
    assert sum(map(len, clipped.values())) <= 800
    assert clipped["code"] == parts["code"] and clipped["test_patch"] == parts["test_patch"]
    assert clipped["log"].startswith("L") and "characters cut" in clipped["log"]
    focus = Focus("stochasticity", None)
    system, user = diagnosis_messages({"a.py": b"x = 1\n"}, focus, None, "", 10_000)
    assert "stochastic" in user["content"] and "# Agent log" not in user["content"]

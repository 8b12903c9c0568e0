"""Engine test helpers: a real archive (SQLite in tmp), a real gateway serving a scripted
model over its socket (the OpenAI wire protocol), and a rule-based evaluator.

The evaluator stands in for the sandboxed one (tested in tests/engine/test_docker_run.py):
an agent resolves task T iff the line T is in its `skills.txt`. That gives the loop a
landscape where a mutation can really make an agent better or worse.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from archive import open_archive
from dgm.config import RunConfig, Stage
from dgm.llm.gateway import Gateway
from dgm.llm.scripted import ScriptedEntry, ScriptedProvider
from dgm.loop import Engine, StagePlan
from dgm.mutators.chat import GatewayChat
from dgm.mutators.diff import DiffMutator
from tests.conftest import fresh_postgres_database

MAIN = b"""import argparse
p = argparse.ArgumentParser()
p.add_argument("--repo"); p.add_argument("--problem"); p.add_argument("--out")
p.parse_args()
"""
SEED = {"__main__.py": MAIN, "skills.txt": b"skills:\n"}
TASKS = [f"t{i}" for i in range(1, 7)]


def learn(task: str) -> str:
    """A scripted answer that teaches an agent one task."""
    return f"skills.txt\n<<<<<<< SEARCH\nskills:\n=======\nskills:\n{task}\n>>>>>>> REPLACE\n"


def knows(files: Mapping[str, bytes], task_id: str) -> bool:
    """Whether the agent lists the task in its skills.txt: the rule of the test evaluators."""
    return task_id in files.get("skills.txt", b"").decode().split()


def record_result(
    archive: Any,
    agent_id: str,
    task_id: str,
    stage: str,
    resolved: bool,
    *,
    patch: str,
    tests: Mapping[str, str] | None = None,
    trajectory: str = "[]",
) -> bool:
    """One evaluation recorded as the real evaluator records it (one attempt; no patch is
    error kind `empty_patch`); returns `resolved`, for an evaluator to answer with."""
    archive.record_evaluation(
        agent_id,
        task_id,
        attempt=1,
        stage=stage,
        resolved=resolved,
        score=float(resolved),
        tests=dict(tests or {}),
        duration_s=0.01,
        patch=patch,
        logs="",
        error_kind=None if patch else "empty_patch",
        trajectory=trajectory,
    )
    return resolved


class SkillEvaluator:
    """Resolves a task iff the agent lists it; records like the real evaluator does."""

    def __init__(
        self, archive: Any, fail_on: int | None = None, exc: BaseException | None = None
    ) -> None:
        self.archive = archive
        self.calls = 0
        self.fail_on = fail_on
        self.exc = exc
        self.lock = threading.Lock()

    def evaluate(self, agent_id: str, files: Mapping[str, bytes], task_id: str, stage: str) -> bool:
        with self.lock:
            self.calls += 1
            n = self.calls
        if self.fail_on is not None and n == self.fail_on:
            raise self.exc or RuntimeError("sandbox fell over")
        resolved = knows(files, task_id)
        return record_result(
            self.archive,
            agent_id,
            task_id,
            stage,
            resolved,
            patch="diff" if resolved else "",
            tests={"test_x": "PASSED" if resolved else "FAILED"},
        )


def stages_for(cfg: RunConfig) -> list[StagePlan]:
    named = {"small": TASKS[:2], "medium": TASKS[:4], "full": TASKS}
    return [
        StagePlan(
            s.name, tuple(named[s.tasks] if isinstance(s.tasks, str) else s.tasks), s.threshold
        )
        for s in cfg.stages
    ]


def config(**kw: Any) -> RunConfig:
    base: dict[str, Any] = dict(
        operator="diff",
        workers=1,
        max_iterations=3,
        seed=1,
        model="scripted",
        stages=[
            Stage(name="small", tasks="small"),
            Stage(name="full", tasks="full", threshold=0.0),
        ],
    )
    base.update(kw)
    return RunConfig(**base)


class Harness:
    def __init__(self, url: str | Path) -> None:
        self.path = url
        self.archive = open_archive(url)

    def new_run(self, cfg: RunConfig) -> str:
        return self.archive.create_run("test", config=cfg.model_dump(), seed=cfg.seed)

    def run(
        self,
        run_id: str,
        cfg: RunConfig,
        answers: list[str],
        evaluator: Any = None,
        patterned: list[ScriptedEntry] | None = None,
        seed: Mapping[str, bytes] = SEED,
        judge_script: list[str] | None = None,
        **kw: Any,
    ) -> tuple[str, Engine]:
        """`judge_script`: the answers of a second model, `scripted:judge`, the novelty judge."""
        provider = ScriptedProvider(
            [*(patterned or []), *(ScriptedEntry(content=a) for a in answers)]
        )
        with Gateway(provider, archive=self.archive, run_id=run_id) as gw:
            if judge_script is not None:  # served by the run's one gateway, as in a session
                judge = [ScriptedEntry(content=a) for a in judge_script]
                gw.add_model(ScriptedProvider(judge, model="scripted:judge"))
                kw["judge"] = GatewayChat(gw, model="scripted:judge")
            engine = Engine(
                archive=self.archive,
                run_id=run_id,
                config=cfg,
                stages=stages_for(cfg),
                evaluator=evaluator or SkillEvaluator(self.archive),
                mutator=DiffMutator(max_tries=cfg.diff_max_tries),
                chat=GatewayChat(gw),
                problem_statements={t: f"please solve {t}" for t in TASKS},
                seed_files=seed,
                **kw,
            )
            reason = asyncio.run(engine.run())
        return reason, engine

    def evaluated_pairs(self, run_id: str) -> list[tuple[str, str]]:
        return [
            (a.id, e.task_id)
            for a in self.archive.agents(run_id)
            for e in self.archive.evaluations(a.id)
        ]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """The engine over a SQLite archive, and over a fresh PostgreSQL database."""
    if request.param == "sqlite":
        h = Harness(tmp_path / "archive.db")
        yield h
        h.archive.close()
        return
    for url in fresh_postgres_database():
        h = Harness(url)
        yield h
        h.archive.close()

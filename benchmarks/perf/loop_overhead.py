"""Orchestration cost of the evolution loop per child, without LLM or sandbox time.

Prints ONE JSON line with `orchestration_ms_per_child` (target <= 20 ms): wall time of a
whole run divided by the children it made. The run is real except for the two slow parts:
the model answers instantly from a script (in-process, no gateway), and the evaluator
records a result in the archive without running anything. What is measured is therefore
everything else: selection over the archive's candidate stats, building the mutation
context (parent code and evaluations from the archive), applying SEARCH/REPLACE blocks,
admission (compiling every .py file of the child), the duplicate check (normalising the
child: dgm/novelty.py), storing the child, the job events, recording evaluations, staged
scoring and status updates. The agents are copies of the real seed agent; the archive is
SQLite in a temporary directory.

`cpu_ms_per_child` is the process's CPU time per child: what remains when the disk and the
other processes on the machine are not counted (the archive is opened as the engine opens
it: SQLite in WAL mode with synchronous=NORMAL, no fsync per commit; see archive/db.py).

Run: ``python -m benchmarks.perf.loop_overhead [--children N] [--tasks T] [--workers W]``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from archive import open_archive
from dgm.config import RunConfig, Stage
from dgm.loop import Engine, StagePlan
from dgm.mutators.diff import DiffMutator

SEED_DIR = Path(__file__).resolve().parents[2] / "dgm" / "seed_agent"


class InstantChat:
    """Answers every mutation prompt at once with a block that adds a new note file."""

    def __init__(self) -> None:
        self.counter = itertools.count(1)

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        purpose: str,
        agent_id: str | None = None,
        schema: Mapping[str, Any] | None = None,
    ) -> str:
        n = next(self.counter)
        return f"notes/n{n}.txt\n<<<<<<< SEARCH\n=======\nnote {n}\n>>>>>>> REPLACE\n"


class NoOpEvaluator:
    """Records an unresolved evaluation without running anything."""

    def __init__(self, archive: object) -> None:
        self.archive = archive

    def evaluate(self, agent_id: str, files: Mapping[str, bytes], task_id: str, stage: str) -> bool:
        resolved = (len(files) + len(task_id)) % 3 == 0  # varied, deterministic scores
        self.archive.record_evaluation(  # type: ignore[attr-defined]
            agent_id,
            task_id,
            attempt=1,
            stage=stage,
            resolved=resolved,
            score=float(resolved),
            tests={},
            duration_s=0.0,
        )
        return resolved


def seed_files() -> dict[str, bytes]:
    return {
        p.relative_to(SEED_DIR).as_posix(): p.read_bytes()
        for p in sorted(SEED_DIR.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def measure(children: int, tasks: int, workers: int) -> dict[str, float | int | str]:
    task_ids = tuple(f"task-{i}" for i in range(tasks))
    cfg = RunConfig(
        model="scripted",
        operator="diff",
        workers=workers,
        max_iterations=children,
        seed=0,
        stages=[Stage(name="small", tasks=list(task_ids))],
    )
    with tempfile.TemporaryDirectory() as tmp:
        archive = open_archive(Path(tmp) / "archive.db")
        run_id = archive.create_run("loop-overhead", config=cfg.model_dump(), seed=0)
        engine = Engine(
            archive=archive,
            run_id=run_id,
            config=cfg,
            stages=[StagePlan("small", task_ids, 0.0)],
            evaluator=NoOpEvaluator(archive),
            mutator=DiffMutator(),
            chat=InstantChat(),
            problem_statements={t: f"problem {t}" for t in task_ids},
            seed_files=seed_files(),
        )
        start, cpu_start = time.perf_counter(), time.process_time()
        asyncio.run(engine.run())
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        made = len(archive.agents(run_id)) - 1
        archive.close()
    return {
        "benchmark": "loop_overhead",
        "orchestration_ms_per_child": round(1000 * elapsed / max(made, 1), 2),
        "cpu_ms_per_child": round(1000 * cpu / max(made, 1), 2),
        "children": made,
        "evaluations_per_child": tasks,
        "workers": workers,
        "archive": "sqlite",
        "total_s": round(elapsed, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(measure(args.children, args.tasks, args.workers)))


if __name__ == "__main__":
    main()

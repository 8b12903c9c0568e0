"""A problem evaluation (a candidate program scored by its problem's evaluator) as an
executor job, and the problem run's Evaluator that submits them.

The job carries the problem as the driver loaded it (loaded once per run) and the
program; the node scores it with its scorer for that problem (on a cluster node: the
problem's Evaluator over the problem's image, built on that node's Docker once; on this
machine: the session's, which an operator's scorer hook may have replaced). The driver
records the Evaluation with the node's id, so each program's evaluation is in the archive
once, however many times a lost node made it start. The operators (ReEvo's reflections,
diff's edits: LLM calls, no sandbox) stay in the driver.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from benchmarks.problems import Evaluation, Problem
from dgm.executors.evaluation import InFlight
from dgm.executors.protocol import Executor, NodeContext, Resources
from dgm.loop import Outcome

if TYPE_CHECKING:
    from archive import Archive


@dataclass(frozen=True)
class ProblemJob:
    """One program of a problem, scored on whichever node the executor picks."""

    problem: Problem
    sandbox: str
    run_label: str
    program: dict[str, str]

    @property
    def resources(self) -> Resources:
        # The Evaluator's sandbox limits.
        return Resources(cpus=1.0, memory_mb=self.problem.memory_mb)

    def run(self, node: NodeContext) -> Evaluation:
        return node.scorer(self.problem, self.sandbox, self.run_label).evaluate(self.program)


@dataclass
class ProblemEvaluator:
    """The engine's Evaluator of a problem's programs: each scoring a job on the executor,
    recorded here in the driver."""

    executor: Executor
    archive: Archive
    problem: Problem
    sandbox: str
    run_label: str
    in_flight: InFlight = field(default_factory=InFlight)

    def evaluate(
        self, agent_id: str, files: Mapping[str, bytes], task_id: str, stage: str
    ) -> Outcome:
        program = {path: data.decode(errors="replace") for path, data in files.items()}
        job = ProblemJob(self.problem, self.sandbox, self.run_label, program)
        done = self.in_flight.submit(self.executor, job, (agent_id, task_id))
        result = done.value
        logs = result.feedback if result.ok else f"{result.failure}\n\n{result.feedback}"
        self.archive.record_evaluation(
            agent_id,
            task_id,
            attempt=1,
            stage=stage,
            resolved=result.ok,
            score=result.score,
            tests={},
            duration_s=result.duration_s,
            logs=logs,
            error_kind=None if result.ok else "problem_failed",
            metrics=result.metrics,
            node=done.node,
        )
        return Outcome(result.ok, result.score, result.failure)

    def where(self, agent_id: str, task_id: str) -> str | None:
        """The node an evaluation in flight runs on, once it started."""
        return self.in_flight.where((agent_id, task_id))

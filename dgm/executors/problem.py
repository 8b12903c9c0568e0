"""A problem evaluation (a candidate program scored by its problem's evaluator) as an
executor job, and the problem run's Evaluator that submits them.

The job carries the problem's spec (a shipped name, or a path every node has) and the
program; the node loads the problem, builds its image layer on its own Docker once, and
scores the program in a fresh sandbox there. The driver records the Evaluation with the
node's id, so each program's evaluation is in the archive once, however many times a lost
node made it start. The operators (ReEvo's reflections, diff's edits: LLM calls, no
sandbox) stay in the driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.problems import Evaluation, Problem
from dgm.executors import node as node_state
from dgm.executors.evaluation import InFlight
from dgm.executors.protocol import Executor, NodeContext, Resources
from dgm.problem_run import ProblemEvaluator

if TYPE_CHECKING:
    from archive import Archive


def node_spec(spec: str) -> str:
    """The spec as a node must read it: a path made absolute (a node's worker process
    runs in another directory); a shipped problem's name as it is."""
    path = Path(spec).expanduser()
    return str(path.resolve()) if path.exists() else spec


@dataclass(frozen=True)
class ProblemJob:
    """One program of a problem, scored on whichever node the executor picks."""

    problem: str
    sandbox: str
    run_label: str
    program: dict[str, str]
    memory_mb: int

    @property
    def resources(self) -> Resources:
        return Resources(cpus=1.0, memory_mb=self.memory_mb)  # the Evaluator's sandbox limits

    def run(self, node: NodeContext) -> Evaluation:
        evaluator = node_state.problem_evaluator(self.problem, self.sandbox, self.run_label)
        return evaluator.evaluate(self.program)


class ExecutorProblemEvaluator(ProblemEvaluator):
    """ProblemEvaluator whose scoring is a job on the executor; recording stays here."""

    def __init__(
        self,
        problem: Problem,
        archive: Archive,
        spec: str,
        sandbox: str,
        run_label: str,
        executor: Executor,
    ) -> None:
        # No scorer of its own: every program is scored on a node.
        self.problem, self.archive, self.executor = problem, archive, executor
        self.spec, self.sandbox, self.run_label = node_spec(spec), sandbox, run_label
        self.in_flight = InFlight()

    def score(self, agent_id: str, program: dict[str, str]) -> tuple[Evaluation, str | None]:
        job = ProblemJob(self.spec, self.sandbox, self.run_label, program, self.problem.memory_mb)
        done = self.in_flight.submit(self.executor, job, (agent_id, self.problem.name))
        return done.value, done.node

    def where(self, agent_id: str, task_id: str) -> str | None:
        """The node an evaluation in flight runs on, once it started."""
        return self.in_flight.where((agent_id, task_id))

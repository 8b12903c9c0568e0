"""A problem as the engine runs it: `dgm run --problem PATH` evolves the problem's program.

An agent of a problem run is the problem's program: its files by sandbox path under /task
(`Problem.program`, e.g. `problem/heuristic.py`). Each agent is scored once, by the
problem's own evaluator in a fresh hardened sandbox (benchmarks/problems/evaluate.py), as
one evaluation of one task (the problem) in one stage (`problem`): a job of
dgm/executors/problem.py. The evaluation row keeps
the raw primary score, the named metrics, the feedback (or the failure's reason) in its logs
and `problem_failed` when there is no valid score. The loop turns the raw score into the
agent's fitness (see dgm/loop.py).

How a problem-run operator plugs in (ReEvo's, STOP's): register it in
dgm/mutators/operators.py; its factory gets `OperatorNeeds.problem` (the loaded Problem:
its direction, description, func_name, prompts, main file), the archive and run id (to read
or store what it must keep across a resume, e.g. ReEvo's reflections), `open_chat` for a
second model, and the problem's sandbox backend. Its `mutate(ctx)` reads the parent's code
from `ctx.files[problem.main_file]` and each parent's score from its `EvalView`s (raw, as
the evaluator gave it) and returns the child's files under the same paths. An operator
that schedules its own parents (a generation, a barrier) implements `dgm.loop.Schedule`.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from benchmarks.problems import Direction, Problem, ProblemError, load
from dgm.errors import UserError
from dgm.loop import StagePlan
from dgm.mutators.admission import rejection

if TYPE_CHECKING:
    from archive import Archive
    from benchmarks.task import Task
    from dgm.config import RunConfig
    from dgm.executors import Executor, Resources
    from dgm.executors.local import LocalNode
    from dgm.executors.problem import ProblemEvaluator
    from dgm.mutators.factories import OperatorNeeds
    from sandbox import SandboxBackend

STAGE = "problem"


def load_problem(path: str) -> Problem:
    try:
        return load(path)
    except ProblemError as e:
        raise UserError(str(e)) from None


def problem_stages(problem: Problem) -> list[StagePlan]:
    """One stage of one task: the whole problem, scored once per program."""
    return [StagePlan(STAGE, (problem.name,), 0.0)]


def seed_files(problem: Problem) -> dict[str, bytes]:
    return {path: source.encode() for path, source in problem.seed().items()}


def admit_program(parent: Mapping[str, bytes], child: Mapping[str, bytes]) -> str | None:
    """A program child is rejected when it changes nothing or does not compile."""
    return rejection(parent, child, contract=False)


@dataclass
class ProblemTarget:
    """A run's target when it evolves a problem's program: the problem, loaded once for
    the whole run (its jobs carry it to the nodes). See dgm/target.py. An operator whose
    programs are not the problem's (STOP's improvers) brings its own seed and scorer
    (hooks of its entry in dgm/mutators/operators.py)."""

    spec: str  # as the config names it: a shipped problem's name or a path
    problem: Problem
    stages: list[StagePlan]
    direction: Direction
    tasks: Mapping[str, Task] = field(default_factory=dict)  # a problem has no suite's tasks

    @classmethod
    def load(cls, config: RunConfig) -> ProblemTarget:
        assert config.problem is not None
        problem = load_problem(config.problem)
        return cls(config.problem, problem, problem_stages(problem), problem.direction)

    def describe(self) -> str:
        return f"problem {self.spec}"

    def run_name(self, config: RunConfig) -> str:
        return f"{config.operator}-{self.problem.name}-seed{config.seed}"

    def statements(self) -> dict[str, str]:
        return {self.problem.name: self.problem.description}

    def seed_files(self, config: RunConfig) -> Mapping[str, bytes]:
        from dgm.mutators.factories import operator_seed

        return operator_seed(config.operator, self.problem) or seed_files(self.problem)

    def admit(self, parent: Mapping[str, bytes], child: Mapping[str, bytes]) -> str | None:
        return admit_program(parent, child)

    def job_resources(self, config: RunConfig) -> Resources:
        from dgm.executors import Resources

        return Resources(cpus=1.0, memory_mb=self.problem.memory_mb)  # the evaluator's limits

    def open_backend(
        self, config: RunConfig, run_label: str, pool_size: int
    ) -> AbstractContextManager[SandboxBackend]:
        """A backend of the problem's image (it holds the evaluator's packages), its
        containers started at once unless the operator scores programs its own way (STOP's
        sandboxes carry a gateway and other limits: a pool made ahead would go unused)."""
        from benchmarks.problems import open_problem_backend
        from dgm.mutators.operators import OPERATORS

        return open_problem_backend(
            self.problem,
            config.sandbox,
            pool_size=pool_size,
            run_label=run_label or "problem",
            prefill=OPERATORS[config.operator].scorer is None,
        )

    def local_node(self, needs: OperatorNeeds) -> LocalNode:
        from benchmarks.problems import Evaluator
        from dgm.executors.local import LocalNode
        from dgm.mutators.factories import operator_scorer

        scorer = operator_scorer(needs) or Evaluator(self.problem, needs.backend)
        return LocalNode(needs.backend, scorer=scorer)

    def evaluator(
        self, executor: Executor, archive: Archive, run_id: str, needs: OperatorNeeds
    ) -> ProblemEvaluator:
        from dgm.executors.problem import ProblemEvaluator

        return ProblemEvaluator(executor, archive, self.problem, needs.config.sandbox, run_id)

    def close(self) -> None:
        pass

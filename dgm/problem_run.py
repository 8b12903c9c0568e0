"""A problem as the engine runs it: `dgm run --problem PATH` evolves the problem's program.

An agent of a problem run is the problem's program: its files by sandbox path under /task
(`Problem.program`, e.g. `problem/heuristic.py`). Each agent is scored once, by the
problem's own evaluator in a fresh hardened sandbox (benchmarks/problems/evaluate.py), as
one evaluation of one task (the problem) in one stage (`problem`). The evaluation row keeps
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
from typing import TYPE_CHECKING

from benchmarks.problems import Evaluation, Evaluator, Problem, ProblemError, load
from dgm.errors import UserError
from dgm.loop import Outcome, StagePlan
from dgm.mutators.admission import rejection

if TYPE_CHECKING:
    from archive import Archive
    from dgm.stop import StopEvaluator
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


class ProblemEvaluator:
    """The engine's Evaluator for a problem: score in the sandbox, record, return the outcome."""

    def __init__(
        self,
        problem: Problem,
        backend: SandboxBackend,
        archive: Archive,
        scorer: StopEvaluator | None = None,
    ) -> None:
        self.problem = problem
        self.scorer: Evaluator | StopEvaluator = scorer or Evaluator(
            problem, backend
        )  # stop runs: the meta-utility
        self.archive = archive

    def evaluate(
        self, agent_id: str, files: Mapping[str, bytes], task_id: str, stage: str
    ) -> Outcome:
        program = {path: data.decode(errors="replace") for path, data in files.items()}
        result, node = self.score(agent_id, program)
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
            node=node,
        )
        return Outcome(result.ok, result.score, result.failure)

    def score(self, agent_id: str, program: dict[str, str]) -> tuple[Evaluation, str | None]:
        """The program's evaluation and the node it ran on (None: this machine); an
        executor's evaluator (dgm/executors/problem.py) runs it on a node instead."""
        return self.scorer.evaluate(program), None

"""A run's target: what its agents are scored against. One interface, two kinds:

- a suite's tasks, for coding agents (dgm/suite_run.py: `SuiteTarget`);
- a problem, for its programs (dgm/problem_run.py: `ProblemTarget`).

The session (dgm/session.py) wires a run through this interface alone, so it has no
branch per kind: a target gives the stages, each task's statement, the first agent, the
rule a child must pass to be kept, the sandbox backend and the resources of one job, what
serves the jobs on this machine, and the evaluator that submits them to the executor.

    target = plan_target(config)      # opens the suite or loads the problem, once
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from archive import Archive
    from benchmarks.problems import Direction, Problem
    from benchmarks.suites import Suite
    from benchmarks.task import Task
    from dgm.config import RunConfig
    from dgm.executors import Executor, Resources
    from dgm.executors.local import LocalNode
    from dgm.loop import Evaluator, StagePlan
    from dgm.mutators.factories import OperatorNeeds
    from sandbox import SandboxBackend


class Target(Protocol):
    @property
    def stages(self) -> list[StagePlan]: ...

    @property
    def direction(self) -> Direction | None:
        """A problem's direction; None for a suite (resolved tasks: higher is better)."""
        ...

    @property
    def problem(self) -> Problem | None:
        """The problem a problem run's operators read (None for a suite)."""
        ...

    @property
    def tasks(self) -> Mapping[str, Task]:
        """A suite's tasks by id, as opened once for the run (the self-modification's
        diagnosis shows a task's test patch); empty for a problem."""
        ...

    def describe(self) -> str:
        """What it is, for people: 'suite swe-mini', 'problem tsp_constructive'."""
        ...

    def run_name(self, config: RunConfig) -> str:
        """A new run's name when the config gives none."""
        ...

    def statements(self) -> dict[str, str]:
        """Each task's statement by task id, as the operators read them."""
        ...

    def seed_files(self, config: RunConfig) -> Mapping[str, bytes]:
        """The first agent of a fresh run."""
        ...

    def admit(self, parent: Mapping[str, bytes], child: Mapping[str, bytes]) -> str | None:
        """Why a child is rejected before evaluation (None: kept)."""
        ...

    def job_resources(self, config: RunConfig) -> Resources:
        """What one evaluation job asks of its node."""
        ...

    def open_backend(
        self, config: RunConfig, run_label: str, pool_size: int
    ) -> AbstractContextManager[SandboxBackend]:
        """This machine's sandbox backend for the run (`config.sandbox`; to be entered)."""
        ...

    def local_node(self, needs: OperatorNeeds) -> LocalNode:
        """What serves the run's jobs on this machine (the local executor's node)."""
        ...

    def evaluator(
        self, executor: Executor, archive: Archive, run_id: str, needs: OperatorNeeds
    ) -> Evaluator:
        """The engine's Evaluator: submits each evaluation to `executor`, records it in
        `archive` as the run's."""
        ...

    def close(self) -> None: ...


def plan_target(
    config: RunConfig, pull: Callable[[Suite, list[Task]], object] | None = None
) -> Target:
    """The config's problem (loaded) or suite (opened, its stages resolved); a UserError
    for anything that would stop the run, so that it stops before a run is created (or a
    resumed one is touched). `pull`: a suite's missing images fetched before they are
    checked (`dgm run --pull`)."""
    if config.problem is not None:
        from dgm.problem_run import ProblemTarget

        return ProblemTarget.load(config)
    from dgm.suite_run import SuiteTarget

    return SuiteTarget.open(config, pull)

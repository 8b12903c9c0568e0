"""A suite as the engine runs it: `dgm run` evolves coding agents on a suite's tasks.

The run's stages are the suite's task lists (a subset name, explicit ids, or "full"); an
agent moves to the next stage when its score on this one reaches the stage's threshold.
The first agent is the seed agent (dgm/seed_agent, or the config's `seed_agent`). Each
evaluation is one agent on one task: run, graded, recorded (dgm/evaluator.py does it, as
a job of dgm/executors/evaluation.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.suites import Suite, SuiteError, open_suite, select_tasks
from benchmarks.task import Task
from dgm import agent_format
from dgm.agent_contract import agent_files
from dgm.errors import UserError
from dgm.loop import StagePlan
from dgm.mutators.admission import rejection
from dgm.mutators.operators import OPERATORS
from dgm.polyglot_run import polyglot_limits, polyglot_suite

if TYPE_CHECKING:
    from archive import Archive
    from dgm.config import RunConfig
    from dgm.executors import Executor, Resources
    from dgm.executors.evaluation import SuiteEvaluator
    from dgm.executors.local import LocalNode
    from dgm.mutators.factories import OperatorNeeds
    from sandbox import SandboxBackend

SEED_AGENT_DIR = Path(__file__).parent / "seed_agent"


def seed_agent_files(config: RunConfig) -> dict[str, bytes]:
    path = Path(config.seed_agent).expanduser() if config.seed_agent else SEED_AGENT_DIR
    if not path.is_dir():
        raise UserError(
            f"seed_agent {str(path)!r} is not a directory: give an agent package directory"
        )
    try:
        files = agent_files(path)
        agent_format.check(files, config.agent_format.kind, str(path))
    except ValueError as e:
        raise UserError(f"seed_agent: {e}") from None
    return files


def open_stages(
    config: RunConfig,
) -> tuple[Suite, list[StagePlan], dict[str, Task], list[Task]]:
    """The run's suite opened, its stage plans, every task by id, and the tasks the stages
    need (what `check` and `dgm run --pull` look at)."""
    try:
        suite = open_suite(config.suite, sandbox=config.sandbox)
    except SuiteError as e:
        raise UserError(str(e)) from None
    plans, tasks = stage_plans(config, suite)
    needed = {i for p in plans for i in p.task_ids}
    return suite, plans, tasks, [t for i, t in tasks.items() if i in needed]


def stage_plans(config: RunConfig, suite: Suite) -> tuple[list[StagePlan], dict[str, Task]]:
    """Each stage's task ids (subset names resolved by the suite), and every task by id."""
    try:
        everything = suite.tasks()
    except SuiteError as e:
        raise UserError(str(e)) from None
    by_id = {t.instance_id: t for t in everything}
    plans = []
    for stage in config.stages:
        try:
            if isinstance(stage.tasks, list):
                ids = [t.instance_id for t in select_tasks(everything, stage.tasks)]
            elif stage.tasks == "full":
                ids = list(by_id)
            else:
                ids = suite.subset(stage.tasks)
        except SuiteError as e:
            raise UserError(f"stage {stage.name!r}: {e}") from None
        plans.append(StagePlan(stage.name, tuple(ids), stage.threshold))
    return plans, by_id


@dataclass
class SuiteTarget:
    """A run's target when it evolves coding agents: the suite (opened once), its stages
    and every task by id. See dgm/target.py."""

    spec: str
    suite: Suite
    stages: list[StagePlan]
    tasks: dict[str, Task]
    direction: None = None
    problem: None = None

    @classmethod
    def open(
        cls, config: RunConfig, pull: Callable[[Suite, list[Task]], object] | None = None
    ) -> SuiteTarget:
        """The suite opened and the stages resolved, each needed task checked (e.g. its
        image is there): a UserError now rather than a failed run later. `pull` (`dgm run
        --pull`) gets the needed tasks first, on this one opening of the suite."""
        suite, plans, tasks, needed = open_stages(config)
        if pull is not None:
            pull(suite, needed)
        try:
            suite.check(needed)
        except SuiteError as e:
            raise UserError(str(e)) from None
        return cls(config.suite, suite, plans, tasks)

    def describe(self) -> str:
        return f"suite {self.spec}"

    def layer_bases(self, operator: str) -> tuple[list[str], bool]:
        """Where a DGM-format seed surely runs in this run, so where its package layers
        are built before it (and only there): the instance images of the first stage's
        tasks (a SWE-bench suite's tasks run in those; a later stage's are built when an
        agent first reaches them), and whether the sandbox image is used: by any other
        suite's tasks, and by an operator that runs the parent agent on its own code
        (DGM's self-modification: the operators that evolve agents only)."""
        from benchmarks.images import needed_images

        first = [self.tasks[i] for i in self.stages[0].task_ids] if self.stages else []
        images = needed_images(self.suite, first)
        return images, not images or OPERATORS[operator].evolves == "agents"

    def prepare_seed(
        self, files: Mapping[str, bytes], config: RunConfig, step: Callable[[str], None]
    ) -> None:
        """A DGM-format seed's package layers built before the run exists (one line if
        one fails), those `layer_bases` names."""
        images, sandbox_image = self.layer_bases(config.operator)
        agent_format.prepare(files, config.sandbox, step, images, sandbox_image)

    def run_name(self, config: RunConfig) -> str:
        return f"{config.operator}-{config.selector}-seed{config.seed}"

    def statements(self) -> dict[str, str]:
        return {t.instance_id: t.problem_statement for t in self.tasks.values()}

    def seed_files(self, config: RunConfig) -> Mapping[str, bytes]:
        from dgm.mutators.factories import operator_agent_files

        return operator_agent_files(config.operator, seed_agent_files(config))

    def admit(self, parent: Mapping[str, bytes], child: Mapping[str, bytes]) -> str | None:
        return rejection(parent, child)

    def job_resources(self, config: RunConfig) -> Resources:
        from dgm.executors import Resources

        limits = config.agent_limits
        return Resources(cpus=limits.cpus, memory_mb=limits.memory_mb)

    def open_backend(
        self, config: RunConfig, run_label: str, pool_size: int
    ) -> AbstractContextManager[SandboxBackend]:
        from sandbox import open_backend

        return open_backend(config.sandbox, run_label=run_label, pool_size=pool_size)

    def local_node(self, needs: OperatorNeeds) -> LocalNode:
        from dgm.executors.local import LocalNode

        return LocalNode(needs.backend, suite=self.suite)

    def evaluator(
        self, executor: Executor, archive: Archive, run_id: str, needs: OperatorNeeds
    ) -> SuiteEvaluator:
        from dgm.evaluator import EvalLimits
        from dgm.executors.evaluation import SuiteEvaluator

        c = needs.config
        limits = EvalLimits(
            agent_timeout_s=c.agent_limits.timeout_s,
            max_steps=c.agent_limits.max_steps,
            sandbox=c.agent_limits.sandbox(),
        )
        if polyglot_suite(c.suite):  # DGM's protocol there is not Aider's (config `polyglot`)
            limits = polyglot_limits(limits, c.polyglot)
        return SuiteEvaluator(
            executor, needs.gateway, archive, self.spec, c.sandbox, run_id, limits
        )

    def close(self) -> None:
        self.suite.close()
        agent_format.LAYERS.close()  # the sandboxes of DGM-format agents' package layers

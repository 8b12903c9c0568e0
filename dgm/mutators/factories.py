"""Building a run's operator from the entry of `OPERATORS` its config names, with what a
session offers (`OperatorNeeds`); and the factories of the operators that have no module
of their own to hold one.

A factory is an `OperatorFactory`; an operator whose programs are not the problem's own
(STOP's improvers) also names a `SeedHook` and a `ScorerHook` in its entry. The entry
names them "module:function", and `hook` imports that module only when a run needs it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, cast

from dgm.mutators.operators import OPERATORS

if TYPE_CHECKING:
    from archive import Archive
    from benchmarks.problems import Evaluation, Problem
    from benchmarks.task import Task
    from dgm.config import RunConfig
    from dgm.executors import Executor
    from dgm.llm.gateway import Gateway
    from dgm.loop import StagePlan
    from dgm.mutators import Chat, Mutator
    from dgm.mutators.self_modify import SelfModifyRunner
    from sandbox import SandboxBackend


@dataclass(frozen=True)
class OperatorNeeds:
    """What a session offers an operator's factory; each factory takes what it needs."""

    config: RunConfig
    backend: SandboxBackend  # for operators that run untrusted code (the parent agent itself)
    gateway: Gateway  # started; every LLM call of a sandboxed run goes through it
    problem: Problem | None = None  # a problem run's problem (None: agents on a suite)
    archive: Archive | None = None  # the run's, for an operator that keeps state across resumes
    run_id: str | None = None
    # A Chat for a model (None: the run's) at a temperature, through a gateway of the run.
    open_chat: Callable[[str | None, float], Chat] | None = None
    # Where sandboxed steps run (None: this machine, on `backend`).
    executor: Executor | None = None
    # The run's suite's tasks by id, as its target opened them (empty: a problem run).
    tasks: Mapping[str, Task] = field(default_factory=dict)
    # The run's stages, as its target resolved them (empty: a problem run).
    stages: Sequence[StagePlan] = ()


class OperatorFactory(Protocol):
    def __call__(self, needs: OperatorNeeds) -> Mutator: ...


class ProgramScorer(Protocol):
    """Scores one program of a problem run (the problem's `Evaluator` is one)."""

    def evaluate(self, program: dict[str, str] | None = None) -> Evaluation: ...


class SeedHook(Protocol):
    """The first program of a run whose operator evolves programs of its own kind."""

    def __call__(self, problem: Problem) -> dict[str, bytes]: ...


class ScorerHook(Protocol):
    """What scores such an operator's programs on the run's problem."""

    def __call__(self, needs: OperatorNeeds) -> ProgramScorer: ...


def hook(path: str) -> object:
    """The function a registry entry names as "module:function"."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def build_operator(needs: OperatorNeeds) -> Mutator:
    """The operator `needs.config.operator` names (the config validated the name)."""
    factory = cast("OperatorFactory", hook(OPERATORS[needs.config.operator].build))
    return factory(needs)


def operator_seed(operator: str, problem: Problem) -> Mapping[str, bytes] | None:
    """The operator's own seed program for `problem`; None: the problem's."""
    path = OPERATORS[operator].seed
    return cast("SeedHook", hook(path))(problem) if path else None


class AgentFilesHook(Protocol):
    """A suite run's seed agent with the files its operator reads in every agent."""

    def __call__(self, files: Mapping[str, bytes]) -> dict[str, bytes]: ...


def operator_agent_files(operator: str, files: Mapping[str, bytes]) -> Mapping[str, bytes]:
    """The seed agent as the operator needs it (DGM-H's procedure files added)."""
    path = OPERATORS[operator].agent_files
    return cast("AgentFilesHook", hook(path))(files) if path else files


def operator_scorer(needs: OperatorNeeds) -> ProgramScorer | None:
    """What scores the operator's programs; None: the problem's own evaluator."""
    path = OPERATORS[needs.config.operator].scorer
    return cast("ScorerHook", hook(path))(needs) if path else None


def executor(needs: OperatorNeeds) -> Executor:
    """The run's executor; for a session without one, the local executor on its backend."""
    if needs.executor is not None:
        return needs.executor
    from dgm.executors import ExecutorSpec
    from dgm.executors.local import LocalExecutor, LocalNode

    local = LocalExecutor(ExecutorSpec(run_label=needs.run_id or ""), LocalNode(needs.backend))
    local.start(needs.gateway)
    return local


def self_modify_runner(needs: OperatorNeeds) -> SelfModifyRunner:
    """The parent agent's run on its own code, as a job of the run's executor."""
    from dgm.executors.self_modify import ExecutorSelfModifier

    c = needs.config
    return ExecutorSelfModifier(
        executor(needs),
        needs.gateway,
        c.sandbox,
        needs.run_id or "",
        c.self_modify_limits.sandbox(),
        c.self_modify_limits.max_steps,
    )


def self_modify(needs: OperatorNeeds) -> Mutator:
    from dgm.mutators.focus import polyglot_rules
    from dgm.mutators.self_modify import SelfModifyMutator

    c = needs.config
    runner = self_modify_runner(needs)
    # The diagnosis has its own model and temperature (DGM: o1 at 1.0) and sees the task's
    # hidden test patch and the lineage's patches, as DGM's does.
    chat = needs.open_chat(c.diagnosis_model, c.diagnosis_temperature) if needs.open_chat else None
    pool, seed_pool = focus_pools(c, needs.stages)
    return SelfModifyMutator(
        runner,
        diagnosis_retries=c.diagnosis_retries,
        max_chars=c.prompt_chars,
        diagnosis_chat=chat,
        tasks=needs.tasks,
        lineage=lineage_patches(needs.archive),
        polyglot=polyglot_rules(c.focus, c.suite),
        pool=pool,
        seed_pool=seed_pool,
    )


def focus_pools(
    config: RunConfig, stages: Sequence[StagePlan]
) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """The tasks a polyglot focus draws from, for a child and for the seed: those of its
    selection score (DGM's `overall_performance`), None for every task it ran. Selected on
    the first stage, a child's are the first stage's; so are the seed's, unless it is
    scored on the whole suite (`seed_tasks`), as DGM's initial agent is."""
    from dgm.loop import first_stage_selection, seed_on_suite

    if not first_stage_selection(config) or not stages:
        return None, None
    first = frozenset(stages[0].task_ids)
    return first, None if seed_on_suite(config) else first


def lineage_patches(archive: Archive | None) -> Callable[[str], list[str]]:
    """agent id -> the patches from the seed down to it (DGM shows them with the code)."""
    if archive is None:
        return lambda agent_id: []
    return lambda agent_id: [archive.diff(a.id) for a in archive.lineage(agent_id)[1:]]


def diff(needs: OperatorNeeds) -> Mutator:
    from dgm.mutators.diff import DiffMutator

    c = needs.config
    # Sampled: at temperature 0 the gateway's cache answers a repeated parent with the
    # same edit, a duplicate (dgm/mutators/diff.py).
    chat = needs.open_chat(None, c.diff_temperature) if needs.open_chat is not None else None
    return DiffMutator(
        max_tries=c.diff_max_tries,
        max_chars=c.prompt_chars,
        chat=chat,
        direction=needs.problem.direction if needs.problem is not None else None,
    )


def reevo(needs: OperatorNeeds) -> Mutator:
    from dgm.errors import UserError
    from dgm.mutators.reevo import ReEvoOperator, ReEvoSchedule

    if (
        needs.problem is None
        or needs.open_chat is None
        or needs.run_id is None
        or needs.archive is None
    ):
        raise UserError("the reevo operator evolves a problem's program: give --problem PATH")
    r = needs.config.reevo
    schedule = ReEvoSchedule(r.init_pop_size, r.pop_size, r.mutation_rate)
    # ReEvo samples at temperature 1, and its initial population 0.3 hotter for diversity.
    return ReEvoOperator(
        needs.problem,
        needs.archive,
        needs.run_id,
        schedule,
        generator=needs.open_chat(None, 1.0),
        reflector=needs.open_chat(r.reflector_model, 1.0),
        init_generator=needs.open_chat(None, 1.3),
    )


def line_edit(needs: OperatorNeeds) -> Mutator:
    from dgm.mutators.chat import GatewayChat
    from dgm.mutators.line_edit import LineEditMutator

    s = needs.config.line_edit
    # Sampled, so that a refused edit's retry and two children of one parent differ.
    chat = (
        needs.open_chat(None, s.temperature)
        if needs.open_chat is not None
        else GatewayChat(needs.gateway, temperature=s.temperature)
    )
    problem = needs.problem
    return LineEditMutator(
        chat,
        main_file=problem.main_file if problem is not None else None,
        direction=problem.direction if problem is not None else None,
        max_lines=s.max_lines,
        tries=s.tries,
        token_share=s.token_share,
        max_chars=needs.config.prompt_chars,
    )

"""One session of a run, wired to the real rooms: the suite's staged task lists (or the
problem: see dgm/problem_run.py), a sandbox backend, the LLM gateway, the sandboxed
evaluator and the chosen operator.

    with open_session(archive, run_id, config) as engine:
        reason = asyncio.run(engine.run())

`start_run` creates a run (config and seed stored with it); `resume_config` reads a
run's stored config back, applying only the overrides a resume may change.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.problems import Problem
from benchmarks.suites import Suite, SuiteError, open_suite, select_tasks
from benchmarks.task import Task
from dgm.agent_contract import agent_files
from dgm.config import Limits, RunConfig, validate, with_resolved_model
from dgm.errors import UserError
from dgm.evaluator import EvalLimits, SuiteEvaluator
from dgm.loop import Engine, StagePlan
from dgm.mutators import Chat, Mutator
from dgm.mutators.admission import rejection
from dgm.mutators.chat import GatewayChat
from dgm.mutators.operators import OperatorNeeds, build_operator
from dgm.problem_run import ProblemEvaluator, admit_program, load_problem, problem_stages

SEED_AGENT_DIR = Path(__file__).parent / "seed_agent"

# What a resume may change: how much more work, and with how many workers / which sandbox.
# Everything else defines the run and stays as it started.
RESUME_OVERRIDES = {
    "workers",
    "max_iterations",
    "max_evaluations",
    "max_fe",
    "budget_usd",
    "wall_clock_s",
    "sandbox",
    "executor",
    "ray_address",
}


def seed_agent_files(config: RunConfig) -> dict[str, bytes]:
    path = Path(config.seed_agent).expanduser() if config.seed_agent else SEED_AGENT_DIR
    if not path.is_dir():
        raise UserError(
            f"seed_agent {str(path)!r} is not a directory: give an agent package directory"
        )
    try:
        return agent_files(path)
    except ValueError as e:
        raise UserError(f"seed_agent: {e}") from None


def check_model(config: RunConfig, archive: Any) -> None:
    """Raise UserError now if the config's model cannot be opened (before a run exists)."""
    from dgm.llm.provider import open_provider

    assert config.model is not None  # resolved
    open_provider(config.model, archive=archive, api_base=config.api_base)


def open_sandbox(
    config: RunConfig,
    run_label: str | None = None,
    pool_size: int = 0,
    problem: Problem | None = None,
) -> Any:
    """The config's sandbox backend (to be entered; a problem's holds its packages);
    UserError if it cannot start (no Docker engine, no image, no bubblewrap)."""
    from benchmarks.problems import open_problem_backend
    from sandbox import EngineUnavailable, SandboxError, open_backend

    try:
        if problem is not None:
            return open_problem_backend(
                problem, config.sandbox, pool_size=pool_size, run_label=run_label or "problem"
            )
        return open_backend(config.sandbox, run_label=run_label, pool_size=pool_size)
    except EngineUnavailable as e:
        raise UserError(str(e)) from None
    except SandboxError as e:
        raise UserError(f"sandbox: {e}") from None


def check_sandbox(config: RunConfig) -> None:
    """Raise UserError now if the sandbox cannot start: said before a run exists, rather
    than left behind as a failed run."""
    with open_sandbox(config):
        pass


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
class SessionPlan:
    """What a session runs: its suite (opened once), the stages and every task by id; or,
    for a problem run, the problem (no suite) and its one stage."""

    suite: Suite | None
    stages: list[StagePlan]
    tasks: dict[str, Task]
    problem: Problem | None = None


def plan_session(config: RunConfig) -> SessionPlan:
    """Open the suite and resolve the stages (or load the problem); raise UserError for
    anything that would stop the run, so that it stops before a run is created (or a
    resumed one is touched)."""
    if config.problem is not None:
        problem = load_problem(config.problem)
        return SessionPlan(None, problem_stages(problem), {}, problem)
    try:
        suite = open_suite(config.suite, sandbox=config.sandbox)
    except SuiteError as e:
        raise UserError(str(e)) from None
    plans, tasks = stage_plans(config, suite)
    needed = {i for p in plans for i in p.task_ids}
    try:
        suite.check([t for i, t in tasks.items() if i in needed])
    except SuiteError as e:
        raise UserError(str(e)) from None
    return SessionPlan(suite, plans, tasks)


def start_run(archive: Any, config: RunConfig, problem: Problem | None = None) -> str:
    name = config.name or f"{config.operator}-{config.selector}-seed{config.seed}"
    if problem is not None and config.name is None:
        name = f"{config.operator}-{problem.name}-seed{config.seed}"
    return archive.create_run(
        name,
        kind="evolve",
        config=config.model_dump(),
        seed=config.seed,
        direction=problem.direction if problem is not None else None,
    )


def resume_config(archive: Any, run_id: str, overrides: Mapping[str, Any]) -> RunConfig:
    info = archive.run(run_id)
    if info.kind != "evolve":
        raise UserError(
            f"run {run_id} is a {info.kind!r} run, not an evolution run: it cannot be resumed"
        )
    changed = sorted(k for k, v in overrides.items() if v is not None and k not in RESUME_OVERRIDES)
    if changed:
        raise UserError(
            f"--resume keeps the run's configuration; {', '.join(changed)} cannot change "
            f"(only {', '.join(sorted(RESUME_OVERRIDES))} can)"
        )
    data = {**info.config, **{k: v for k, v in overrides.items() if v is not None}}
    return validate(data)


def own_run(archive: Any, run_id: str) -> Any:
    """Hold the run's lease in the archive while the block runs (one owner per run, on any
    host). Raises LeaseHeld, an ArchiveError naming the holder, if another process runs it."""
    from archive import hold_run

    return hold_run(archive, run_id)


def sandbox_limits(limits: Limits) -> Any:
    from sandbox import Limits as SandboxLimits

    return SandboxLimits(timeout_s=limits.timeout_s, memory_mb=limits.memory_mb, cpus=limits.cpus)


def executor_spec(archive: Any, run_id: str, config: RunConfig) -> Any:
    from dgm.executors import ExecutorSpec, Resources

    limits = config.agent_limits
    need = Resources(cpus=limits.cpus, memory_mb=limits.memory_mb)
    if config.problem is not None:  # a problem evaluation: the problem's evaluator's limits
        need = Resources(cpus=1.0, memory_mb=load_problem(config.problem).memory_mb)
    return ExecutorSpec(
        name=config.executor,
        address=config.ray_address,
        run_label=run_id,
        archive_url=str(getattr(archive, "url", "")),
        job_resources=need,
    )


def check_executor(archive: Any, config: RunConfig) -> None:
    """A UserError when the run's cluster cannot run it: call before creating the run."""
    if config.executor == "ray":
        from dgm.executors.ray_executor import preflight

        if config.problem is not None and config.operator == "stop":
            raise UserError(
                "--operator stop serves its improvers' utility and model calls on a Unix "
                "socket in the driver's process, which sandboxes on other nodes cannot "
                "mount: run stop with --executor local"
            )

        preflight(executor_spec(archive, "", config))


def open_run_executor(archive: Any, run_id: str, config: RunConfig) -> Any:
    """The run's executor when it is not the local one (whose jobs stay in the engine's
    threads); a UserError, before any work, when the cluster cannot run the run."""
    if config.executor == "local":
        return None
    from dgm.executors import open_executor

    return open_executor(executor_spec(archive, run_id, config))


def executor_evaluator(
    executor: Any, gw: Any, archive: Any, run_id: str, config: RunConfig, limits: EvalLimits
) -> Any:
    from dgm.executors.evaluation import ExecutorEvaluator

    return ExecutorEvaluator(executor, gw, archive, config.suite, config.sandbox, run_id, limits)


def executor_problem_evaluator(
    executor: Any, problem: Problem, archive: Any, run_id: str, config: RunConfig
) -> Any:
    from dgm.executors.problem import ExecutorProblemEvaluator

    assert config.problem is not None
    return ExecutorProblemEvaluator(
        problem, archive, config.problem, config.sandbox, run_id, executor
    )


def executor_mutator(
    mutator: Mutator, executor: Any, gw: Any, run_id: str, config: RunConfig
) -> Mutator:
    from dgm.executors.self_modify import on_executor

    return on_executor(mutator, executor, gw, config.sandbox, run_id)


@contextmanager
def open_session(
    archive: Any,
    run_id: str,
    config: RunConfig,
    seed_files: Mapping[str, bytes] | None = None,
    plan: SessionPlan | None = None,
) -> Iterator[Engine]:
    """An Engine wired to the sandbox, the gateway and the suite; all closed on exit.
    `plan`: from `plan_session`, when the caller checked it before creating the run."""
    from benchmarks.problems.stop import seed_improver
    from dgm.llm.budget import Budget
    from dgm.llm.gateway import Gateway
    from dgm.llm.provider import open_provider
    from dgm.problem_run import seed_files as program_files
    from dgm.stop import build_scorer

    plan = plan or plan_session(config)
    plans, tasks, suite, problem = plan.stages, plan.tasks, plan.suite, plan.problem
    if seed_files is None and not archive.candidate_stats(run_id):  # a fresh run needs its seed
        seed_files = program_files(problem) if problem else seed_agent_files(config)
        if problem is not None and config.operator == "stop":  # a stop run evolves improvers
            seed_files = seed_improver()
    model = with_resolved_model(config).model
    assert model is not None  # resolved
    provider = open_provider(model, archive=archive, api_base=config.api_base)
    # The whole run's budget: the gateway counts what earlier sessions of the run spent.
    run_budget = None if config.budget_usd is None else Budget(max_usd=config.budget_usd)
    task_budget = None if config.task_budget_usd is None else Budget(max_usd=config.task_budget_usd)
    backend_cm = open_sandbox(config, run_id, min(config.workers, 4), problem)
    with ExitStack() as stack:
        backend = stack.enter_context(backend_cm)
        executor = open_run_executor(archive, run_id, config)  # checks the cluster first
        if executor is not None:
            stack.enter_context(executor)
        gw = stack.enter_context(
            Gateway(
                provider, archive=archive, run_id=run_id, budget=run_budget, task_budget=task_budget
            )
        )

        served = {model: provider.model}  # a model as configured -> its name at the gateway

        def open_chat(other: str | None, temperature: float = 0.0) -> Chat:
            """A Chat for a model of the run (another: ReEvo's reflector). Every model is
            served by the run's one gateway, so the run's budget counts them all."""
            other = other or model
            if other not in served:
                extra = open_provider(other, archive=archive, api_base=config.api_base)
                gw.add_model(extra)
                served[other] = extra.model
            return GatewayChat(gw, temperature=temperature, model=served[other])

        def spent() -> float:
            return gw.usage().cost_usd

        evaluator: Any
        if problem is not None:
            scorer = (
                build_scorer(config, problem, backend, gw) if config.operator == "stop" else None
            )
            evaluator = ProblemEvaluator(problem, backend, archive, scorer)
        else:
            assert suite is not None
            limits = EvalLimits(
                agent_timeout_s=config.agent_limits.timeout_s,
                max_steps=config.agent_limits.max_steps,
                sandbox=sandbox_limits(config.agent_limits),
            )
            evaluator = SuiteEvaluator(suite, backend, gw, archive, limits)
            stack.callback(evaluator.close)
        needs = OperatorNeeds(
            config,
            backend,
            gw,
            problem=problem,
            archive=archive,
            run_id=run_id,
            open_chat=open_chat,
        )
        statements = (
            {problem.name: problem.description}
            if problem is not None
            else {t.instance_id: t.problem_statement for t in tasks.values()}
        )
        mutator = build_operator(needs)
        if executor is not None:
            executor.start(gw)
            if problem is not None:  # stop runs are refused by check_executor
                evaluator = executor_problem_evaluator(executor, problem, archive, run_id, config)
            else:
                evaluator = executor_evaluator(executor, gw, archive, run_id, config, limits)
            mutator = executor_mutator(mutator, executor, gw, run_id, config)
        yield Engine(
            archive=archive,
            run_id=run_id,
            config=config,
            stages=plans,
            evaluator=evaluator,
            mutator=mutator,
            chat=GatewayChat(gw),
            problem_statements=statements,
            seed_files=seed_files,
            spent_usd=spent,
            direction=problem.direction if problem is not None else None,
            admit=admit_program if problem is not None else rejection,
            judge=open_chat(config.novelty.judge_model) if config.novelty.judge_model else None,
        )

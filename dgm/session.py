"""One session of a run, wired to the real rooms: the run's target (a suite's tasks or a
problem: dgm/target.py), a sandbox backend, the LLM gateway, the executor that runs the
sandboxed jobs (this machine's, or a Ray cluster's), the target's evaluator and the
chosen operator.

    with open_session(archive, run_id, config) as engine:
        reason = asyncio.run(engine.run())

`start_run` creates a run (config and seed stored with it); `resume_config` reads a
run's stored config back, applying only the overrides a resume may change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

from dgm.config import RunConfig, named_models, validate, with_resolved_model
from dgm.errors import UserError
from dgm.loop import Engine
from dgm.mutators import Chat
from dgm.mutators.chat import GatewayChat
from dgm.mutators.factories import OperatorNeeds, build_operator
from dgm.mutators.operators import OPERATORS
from dgm.target import Target, plan_target

if TYPE_CHECKING:
    from archive import Archive
    from archive.lease import Renewer
    from dgm.executors import Executor, ExecutorSpec
    from dgm.llm.gateway import Gateway
    from dgm.llm.provider import Provider

# What a resume may change: how much more work, and with how many workers / which sandbox.
# Everything else defines the run and stays as it started.
RESUME_OVERRIDES = {
    "engine_wait_s",
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


def check_model(config: RunConfig, archive: Archive | None) -> None:
    """Raise UserError now if a model the config names (`model`, ReEvo's reflector, the
    diagnosis's, the novelty judge) cannot be opened, a missing API key included: before
    a run exists."""
    from dgm.llm.models import open_provider

    assert config.model is not None  # resolved
    for key, model in named_models(config.model_dump()).items():
        try:
            open_provider(model, archive=archive, api_base=config.api_base, warm=False)
        except UserError as e:
            if key == "model":
                raise
            fix = str(e).replace("--model local", f"--set {key}=local")  # the key's own fix
            raise UserError(f"{key}: {fix}") from None


@contextmanager
def sandbox_errors() -> Iterator[None]:
    """A sandbox that cannot start (no Docker engine, no image, no bubblewrap) as a
    UserError."""
    from sandbox import EngineUnavailable, SandboxError

    try:
        yield
    except EngineUnavailable as e:
        raise UserError(str(e)) from None
    except SandboxError as e:
        raise UserError(f"sandbox: {e}") from None


def check_sandbox(config: RunConfig) -> None:
    """Raise UserError now if the sandbox cannot start: said before a run exists, rather
    than left behind as a failed run."""
    from sandbox import open_backend

    with sandbox_errors(), open_backend(config.sandbox):
        pass


def start_run(archive: Archive, config: RunConfig, target: Target) -> str:
    return archive.create_run(
        config.name or target.run_name(config),
        kind="evolve",
        config=config.model_dump(),
        seed=config.seed,
        direction=target.direction,
    )


def resume_config(archive: Archive, run_id: str, overrides: Mapping[str, object]) -> RunConfig:
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


def own_run(archive: Archive, run_id: str) -> AbstractContextManager[Renewer]:
    """Hold the run's lease in the archive while the block runs (one owner per run, on any
    host). Raises LeaseHeld, an ArchiveError naming the holder, if another process runs it."""
    from archive import hold_run

    return hold_run(archive, run_id)


def executor_spec(archive_url: str, run_id: str, config: RunConfig, target: Target) -> ExecutorSpec:
    from dgm.executors import ExecutorSpec

    return ExecutorSpec(
        name=config.executor,
        address=config.ray_address,
        run_label=run_id,
        archive_url=archive_url,
        job_resources=target.job_resources(config),
    )


def check_executor(archive_url: str, config: RunConfig, target: Target) -> None:
    """A UserError when the run's cluster cannot run it: call before creating the run (a
    new run's archive too: `archive_url` is where it will be)."""
    if config.executor == "ray":
        from dgm.executors.ray_executor import preflight

        why = OPERATORS[config.operator].local_only
        if why:
            raise UserError(
                f"--operator {config.operator} {why}: run {config.operator} with --executor local"
            )
        preflight(executor_spec(archive_url, "", config, target))


def open_run_executor(
    archive: Archive, run_id: str, config: RunConfig, target: Target, needs: OperatorNeeds
) -> Executor:
    """Where the run's sandboxed jobs run: this machine (with the session's backend, and
    the target's suite or scorer), or the cluster, once it is checked to run the run."""
    from dgm.executors import open_executor
    from dgm.executors.local import LocalExecutor
    from dgm.executors.retry import RetryingExecutor, docker_answers

    spec = executor_spec(archive.url, run_id, config, target)
    if config.executor == "local":
        here = docker_answers if config.sandbox == "docker" else None
        return RetryingExecutor(
            LocalExecutor(spec, target.local_node(needs)), config.engine_wait_s, here
        )
    return RetryingExecutor(open_executor(spec), config.engine_wait_s)


def open_gateway(archive: Archive, run_id: str, config: RunConfig, provider: Provider) -> Gateway:
    """The run's gateway, with the run's budget (it counts what earlier sessions of the
    run spent) and each (agent, task)'s."""
    from dgm.llm.budget import Budget
    from dgm.llm.gateway import Gateway

    run_budget = None if config.budget_usd is None else Budget(max_usd=config.budget_usd)
    task_budget = None if config.task_budget_usd is None else Budget(max_usd=config.task_budget_usd)
    return Gateway(
        provider,
        archive=archive,
        run_id=run_id,
        budget=run_budget,
        task_budget=task_budget,
        agent_models=config.agent_format.models,
    )


def chat_opener(
    gw: Gateway, archive: Archive, config: RunConfig, model: str, default: Provider
) -> Callable[[str | None, float], Chat]:
    """`open_chat(model, temperature)`: a Chat for a model of the run (another: ReEvo's
    reflector). Every model is served by the run's one gateway, so the run's budget counts
    them all."""
    from dgm.llm.models import open_provider

    served = {model: default.model}  # a model as configured -> its name at the gateway

    def open_chat(other: str | None, temperature: float = 0.0) -> Chat:
        other = other or model
        if other not in served:
            extra = open_provider(other, archive=archive, api_base=config.api_base)
            gw.add_model(extra)
            served[other] = extra.model
        return GatewayChat(gw, temperature=temperature, model=served[other])

    return open_chat


@contextmanager
def open_session(
    archive: Archive,
    run_id: str,
    config: RunConfig,
    seed_files: Mapping[str, bytes] | None = None,
    plan: Target | None = None,
) -> Iterator[Engine]:
    """An Engine wired to the target, the sandbox, the gateway and the executor; all
    closed on exit. `plan`: from `plan_target`, when the caller checked it before creating
    the run."""
    from dgm.llm.models import open_provider

    target = plan or plan_target(config)
    model = with_resolved_model(config).model
    assert model is not None  # resolved
    provider = open_provider(model, archive=archive, api_base=config.api_base)
    with ExitStack() as stack:
        stack.callback(target.close)
        with sandbox_errors():
            backend = stack.enter_context(
                target.open_backend(config, run_id, min(config.workers, 4))
            )
        gw = stack.enter_context(open_gateway(archive, run_id, config, provider))
        chat = chat_opener(gw, archive, config, model, provider)
        needs = OperatorNeeds(
            config,
            backend,
            gw,
            target.problem,
            archive,
            run_id,
            chat,
            tasks=target.tasks,
            stages=target.stages,
        )
        executor = stack.enter_context(open_run_executor(archive, run_id, config, target, needs))
        executor.start(gw)
        needs = replace(needs, executor=executor)
        if seed_files is None and not archive.candidate_stats(run_id):  # a fresh run
            seed_files = target.seed_files(config)
        yield Engine(
            archive=archive,
            run_id=run_id,
            config=config,
            stages=target.stages,
            evaluator=target.evaluator(executor, archive, run_id, needs),
            mutator=build_operator(needs),
            chat=GatewayChat(gw),
            problem_statements=target.statements(),
            seed_files=seed_files,
            spent_usd=lambda: gw.usage().cost_usd,
            direction=target.direction,
            admit=target.admit,
            judge=chat(config.novelty.judge_model, 0.0) if config.novelty.judge_model else None,
        )

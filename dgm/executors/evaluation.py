"""An evaluation as an executor job, and the engine's Evaluator of a suite's tasks that
submits them (to the local executor, or to a cluster's: the one path of every evaluation
of `dgm run` and `dgm bench run`).

The job runs on a node: the agent in a sandbox, then the grading, with the gateway
session the driver opened (its token only; calls go through the node's socket). It returns
the EvalResult; the driver adds the session's usage and records it with the node's id,
so each (agent, task, attempt) lands in the archive once, whichever node ran it and
however many times a lost node made it start.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from dgm.evaluator import EvalLimits, EvalResult, GatewayLike, evaluate, record
from dgm.executors.protocol import Done, Executor, Job, NodeContext, Resources
from dgm.llm.budget import Usage
from dgm.llm.gateway import Session

if TYPE_CHECKING:
    from archive import Archive
    from benchmarks.suites import Suite
    from dgm.executors.local import LocalExecutor
    from dgm.llm.gateway import Gateway
    from sandbox import SandboxBackend

T = TypeVar("T")


@dataclass
class SessionGateway:
    """The gateway as a job on a node sees it: one session, opened by the driver, and the
    node's socket. Usage is the driver's to count."""

    session: Session
    socket_path: str | None

    def open_session(self, *, agent_id: str | None, task_id: str | None, purpose: str) -> Session:
        return self.session  # the driver's, whoever asks

    def close_session(self, session: Session) -> None:
        pass

    def usage(self, session_or_run: Session | str | None = None) -> Usage:
        return Usage()


@dataclass(frozen=True)
class EvaluationJob:
    """One agent on one task, run and graded on whichever node the executor picks."""

    suite: str
    sandbox: str
    run_label: str
    agent_id: str
    task_id: str
    files: dict[str, bytes]
    session: Session
    limits: EvalLimits
    attempt: int = 1

    @property
    def resources(self) -> Resources:
        return Resources(cpus=self.limits.sandbox.cpus, memory_mb=self.limits.sandbox.memory_mb)

    def run(self, node: NodeContext) -> EvalResult:
        suite = node.suite(self.suite, self.sandbox)
        task = next((t for t in suite.tasks() if t.instance_id == self.task_id), None)
        if task is None:
            raise KeyError(f"task {self.task_id!r} is not in suite {suite.name}")
        return evaluate(
            self.files,
            task,
            suite,
            node.backend(self.sandbox, self.run_label),
            SessionGateway(self.session, node.gateway_socket()),
            limits=self.limits,
            agent_id=self.agent_id,
            attempt=self.attempt,
            repo_dir=node.repo(suite, task),
        )


@dataclass
class InFlight:
    """Which node each job in flight runs on, by its key (agent, task): for the display."""

    nodes: dict[tuple[str, str], str | None] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def submit(self, executor: Executor, job: Job[T], key: tuple[str, str]) -> Done[T]:
        def started(node: str | None) -> None:
            with self._lock:
                self.nodes[key] = node

        try:
            return executor.submit(job, on_start=started)
        finally:
            with self._lock:
                self.nodes.pop(key, None)

    def where(self, key: tuple[str, str]) -> str | None:
        with self._lock:
            return self.nodes.get(key)


@dataclass
class SuiteEvaluator:
    """The engine's Evaluator of a suite's tasks: each evaluation a job on the executor
    (the session's own machine, or a cluster node), recorded here in the driver. `suite`
    names it as `open_suite` reads it (a node opens it by that name)."""

    executor: Executor
    gateway: GatewayLike
    archive: Archive
    suite: str
    sandbox: str
    run_label: str
    limits: EvalLimits
    in_flight: InFlight = field(default_factory=InFlight)

    def evaluate(
        self, agent_id: str, files: Mapping[str, bytes], task_id: str, stage: str, attempt: int = 1
    ) -> bool:
        """Run, grade and record one evaluation (attempts count from 1); True when resolved."""
        return self.run(agent_id, files, task_id, stage, attempt).resolved

    def run(
        self, agent_id: str, files: Mapping[str, bytes], task_id: str, stage: str, attempt: int = 1
    ) -> EvalResult:
        """`evaluate`, returning the whole result."""
        session = self.gateway.open_session(agent_id=agent_id, task_id=task_id, purpose="agent")
        job = EvaluationJob(
            self.suite,
            self.sandbox,
            self.run_label,
            agent_id,
            task_id,
            dict(files),
            session,
            self.limits,
            attempt,
        )
        try:
            done = self.in_flight.submit(self.executor, job, (agent_id, task_id))
        finally:
            usage = self.gateway.usage(session)
            self.gateway.close_session(session)
        result = with_usage(done.value, usage)
        result.evaluation_id = record(self.archive, agent_id, stage, result, node=done.node)
        return result

    def where(self, agent_id: str, task_id: str) -> str | None:
        """The node an evaluation in flight runs on, once it started."""
        return self.in_flight.where((agent_id, task_id))


def local_suite_evaluator(
    suite: Suite,
    backend: SandboxBackend,
    gateway: Gateway,
    archive: Archive,
    run_label: str,
    limits: EvalLimits,
) -> tuple[SuiteEvaluator, LocalExecutor]:
    """A SuiteEvaluator on this machine's local executor, with an opened suite and
    backend (`dgm bench run`); close the executor when done (it removes the repositories
    it built)."""
    from dgm.config import RunConfig
    from dgm.executors.local import LocalExecutor, LocalNode
    from dgm.executors.protocol import ExecutorSpec
    from dgm.executors.retry import RetryingExecutor, docker_answers

    executor = LocalExecutor(ExecutorSpec(run_label=run_label), LocalNode(backend, suite=suite))
    executor.start(gateway)
    # A job the engine failed runs again, as in `dgm run` (with its default wait).
    answers = docker_answers if backend.name == "docker" else None
    wait_s = RunConfig.model_fields["engine_wait_s"].default
    retrying = RetryingExecutor(executor, wait_s, answers)
    # The node serves this suite and backend whatever their names: none are opened again.
    evaluator = SuiteEvaluator(retrying, gateway, archive, suite.name, "", run_label, limits)
    return evaluator, executor


def with_usage(result: EvalResult, usage: Usage) -> EvalResult:
    """The result with what its session spent (the node cannot see the gateway's ledger)."""
    result.tokens, result.cost_usd = usage.tokens, usage.cost_usd
    grade_kind = result.grade.error_kind if result.grade else None
    if usage.context_overflows and not result.resolved and result.error_kind in (None, grade_kind):
        result.error_kind = "context_length"
    return result

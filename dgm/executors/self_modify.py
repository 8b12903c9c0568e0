"""A self-modification's sandboxed run (the parent agent on its own code) as an executor
job. The diagnosis before it stays in the driver (an LLM call, no sandbox); the run goes
to whichever node the executor picks, and its files come back to the driver, which adds
the child to the archive as usual."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dgm.executors.evaluation import SessionGateway
from dgm.executors.protocol import Executor, NodeContext, Resources
from dgm.llm.gateway import Gateway, Session
from dgm.mutators import Mutator
from dgm.mutators.self_modify import SelfModifier, SelfModifyMutator, SelfModifyRun


@dataclass(frozen=True)
class SelfModifyJob:
    sandbox: str
    run_label: str
    agent_id: str
    files: dict[str, bytes]
    problem: str
    session: Session
    limits: Any  # sandbox.Limits
    max_steps: int | None

    @property
    def resources(self) -> Resources:
        return Resources(cpus=self.limits.cpus, memory_mb=self.limits.memory_mb)

    def run(self, node: NodeContext) -> SelfModifyRun:
        gateway = SessionGateway(self.session, node.gateway_socket())
        runner = SelfModifier(
            node.backend(self.sandbox, self.run_label), gateway, self.limits, self.max_steps
        )
        return runner.run(self.agent_id, self.files, self.problem)


@dataclass
class ExecutorSelfModifier:
    """SelfModifier's `run`, on an executor's node; the session is the driver's."""

    executor: Executor
    gateway: Gateway
    sandbox: str
    run_label: str
    limits: Any
    max_steps: int | None

    def run(self, agent_id: str, files: Mapping[str, bytes], problem: str) -> SelfModifyRun:
        session = self.gateway.open_session(agent_id=agent_id, task_id=None, purpose="self_modify")
        job = SelfModifyJob(
            self.sandbox,
            self.run_label,
            agent_id,
            dict(files),
            problem,
            session,
            self.limits,
            self.max_steps,
        )
        try:
            return self.executor.submit(job).value
        finally:
            self.gateway.close_session(session)


def on_executor(
    mutator: Mutator, executor: Executor, gateway: Gateway, sandbox: str, run_label: str
) -> Mutator:
    """The mutator with its sandboxed step on `executor` (operators without one unchanged)."""
    if isinstance(mutator, SelfModifyMutator) and isinstance(mutator.runner, SelfModifier):
        local = mutator.runner
        mutator.runner = ExecutorSelfModifier(
            executor, gateway, sandbox, run_label, local.limits, local.max_steps
        )
    return mutator

"""A self-modification's sandboxed run (the parent agent on its own code) as an executor
job. The diagnosis before it stays in the driver (an LLM call, no sandbox); the run goes
to whichever node the executor picks (this machine's, with the local executor), and its
files come back to the driver, which adds the child to the archive as usual."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dgm.evaluator import GatewayLike
from dgm.executors.evaluation import SessionGateway
from dgm.executors.protocol import Executor, NodeContext, Resources
from dgm.llm.gateway import Session
from dgm.mutators.self_modify import SelfModifier, SelfModifyRun
from sandbox import Limits


@dataclass(frozen=True)
class SelfModifyJob:
    sandbox: str
    run_label: str
    agent_id: str
    files: dict[str, bytes]
    problem: str
    session: Session
    limits: Limits
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
    """The self-modify operator's runner (step 3 of dgm/mutators/self_modify.py): each run
    a job on the executor, with a gateway session the driver opens and closes."""

    executor: Executor
    gateway: GatewayLike
    sandbox: str
    run_label: str
    limits: Limits
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

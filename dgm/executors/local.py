"""The local executor: a job runs in the calling thread (one of the engine's workers), on
this machine, with the session's own backend, suite and scorer: the one path a job takes
when no cluster runs it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from dgm.executors import node as node_state
from dgm.executors.protocol import Done, ExecutorSpec, GatewayApp, Job, OnStart, ProgramScorer
from sandbox import SandboxBackend
from sandbox.closing import Closing

if TYPE_CHECKING:
    from benchmarks.problems import Problem
    from benchmarks.suites import Suite
    from benchmarks.task import Task

T = TypeVar("T")


class LocalNode:
    """This machine as a node: the gateway's own socket and what the session opened (its
    backend, its suite, its problem's scorer); the repositories it builds are removed when
    the executor closes. Anything else a job asks for is opened as a cluster node would."""

    node: str | None = None

    def __init__(
        self,
        backend: SandboxBackend | None = None,
        suite: Suite | None = None,
        scorer: ProgramScorer | None = None,
    ) -> None:
        self._backend, self._suite, self._scorer = backend, suite, scorer
        self.socket_path = ""
        self.repos = node_state.Repos()

    def backend(self, kind: str, run_label: str) -> SandboxBackend:
        return self._backend or node_state.backend(kind, run_label)

    def suite(self, spec: str, sandbox: str) -> Suite:
        return self._suite or node_state.suite(spec, sandbox)

    def repo(self, suite: Suite, task: Task) -> Path | None:
        return self.repos.repo(suite, task)

    def scorer(self, problem: Problem, sandbox: str, run_label: str) -> ProgramScorer:
        return self._scorer or node_state.scorer(problem, sandbox, run_label)

    def gateway_socket(self) -> str:
        if not self.socket_path:
            raise RuntimeError("this executor was started without a gateway")
        return self.socket_path


class LocalExecutor(Closing):
    name = "local"

    def __init__(self, spec: ExecutorSpec, node: LocalNode | None = None) -> None:
        self.spec = spec
        self.node = node or LocalNode()
        self.node.socket_path = spec.gateway_socket or ""

    def start(self, gateway: GatewayApp) -> None:
        if gateway.socket_path is None:
            raise RuntimeError("start the gateway before the executor")
        self.node.socket_path = gateway.socket_path

    def submit(self, job: Job[T], on_start: OnStart | None = None) -> Done[T]:
        if on_start is not None:
            on_start(None)
        return Done(job.run(self.node), None)

    def where(self) -> dict[str, str]:
        return {}

    def sweep(self, final: bool = True) -> int:
        from sandbox import remove_run_sandboxes

        return remove_run_sandboxes(self.spec.run_label if final else "")

    def close(self) -> None:
        self.node.repos.close()

"""The executor seam: a job, the node it runs on, and who runs it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from dgm.llm.server import App
from sandbox import SandboxBackend

if TYPE_CHECKING:
    from benchmarks.problems import Evaluation, Problem
    from benchmarks.suites import Suite
    from benchmarks.task import Task

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

SANDBOX_RESOURCE = "dgm_sandbox"
"""The custom Ray resource a node advertises, one unit per sandbox it may run at once."""


@dataclass(frozen=True)
class Resources:
    """What one job asks of its node (the sandbox's own limits)."""

    cpus: float = 1.0
    memory_mb: int = 2048


class ProgramScorer(Protocol):
    """Scores one program of a problem run: the problem's `Evaluator`, or what an
    operator's scorer hook puts in its place (STOP's meta-utility)."""

    def evaluate(self, program: dict[str, str] | None = None) -> Evaluation: ...


class NodeContext(Protocol):
    """What a job gets from the node it runs on: on a cluster node what that node opened
    once for every job it runs (dgm/executors/node.py), on this machine the session's own
    (dgm/executors/local.py)."""

    node: str | None
    """The node's id (None: the driver's machine, local executor)."""

    def backend(self, kind: str, run_label: str) -> SandboxBackend:
        """This node's sandbox backend of that kind, labelled with the run."""
        ...

    def gateway_socket(self) -> str:
        """The gateway socket this node's sandboxes mount (the gateway's own, or a relay)."""
        ...

    def suite(self, spec: str, sandbox: str) -> Suite:
        """The suite `spec` names, opened once on this node."""
        ...

    def repo(self, suite: Suite, task: Task) -> Path | None:
        """The task's repository, built once on this node (None: the task has none)."""
        ...

    def scorer(self, problem: Problem, sandbox: str, run_label: str) -> ProgramScorer:
        """What scores the problem's programs on this node, made once."""
        ...


class Job(Protocol[T_co]):
    """Sandboxed work: picklable, returns a value, writes nothing outside its sandbox."""

    @property
    def resources(self) -> Resources: ...

    def run(self, node: NodeContext) -> T_co: ...


@dataclass(frozen=True)
class Done(Generic[T]):
    value: T
    node: str | None


@dataclass(frozen=True)
class ExecutorSpec:
    """Which executor, and what it needs to start."""

    name: str = "local"
    address: str | None = None
    """Ray: the head's host:port (None: RAY_ADDRESS, else a cluster on this machine)."""
    run_label: str = ""
    """The run id: every sandbox of the run carries it, so a sweep finds them on any node."""
    gateway_socket: str | None = None
    """The driver's gateway socket (the local executor hands it to sandboxes)."""
    archive_url: str = ""
    """The archive the driver writes (a cluster of several hosts needs a shared one)."""
    job_resources: Resources = Resources()
    """What the run's jobs ask for: some node must be able to give it."""


class GatewayApp(App, Protocol):
    """The driver's gateway, as the executor needs it: what its servers call (a node's
    relay calls the same), and its socket."""

    socket_path: str | None


class Executor(Protocol):
    name: str

    def start(self, gateway: GatewayApp) -> None:
        """Make `gateway` reachable from every node's sandboxes (before the first job that
        calls it)."""
        ...

    def submit(self, job: Job[T], on_start: OnStart | None = None) -> Done[T]:
        """Run `job` to its end (blocking) and return its value with its node; a node lost
        mid-job means the job runs again on another. `on_start(node)`: told where it runs."""
        ...

    def where(self) -> dict[str, str]:
        """Short names of the nodes that can sandbox, by node id (for displays)."""
        ...

    def sweep(self, final: bool = True) -> int:
        """Remove orphaned sandboxes on every node, and at the run's end (`final`) every
        sandbox of the run; how many."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...


class OnStart(Protocol):
    def __call__(self, node: str | None) -> None: ...

"""The local executor: a job runs in the calling thread, on this machine's sandboxes."""

from __future__ import annotations

from typing import TypeVar

from dgm.executors import node as node_state
from dgm.executors.protocol import Done, ExecutorSpec, GatewayApp, Job, OnStart
from sandbox import SandboxBackend

T = TypeVar("T")


class LocalNode:
    """This machine as a node: the gateway's own socket, this process's backends."""

    node: str | None = None

    def __init__(self, socket_path: str) -> None:
        self._socket = socket_path

    def backend(self, kind: str, run_label: str) -> SandboxBackend:
        return node_state.backend(kind, run_label)

    def gateway_socket(self) -> str:
        if not self._socket:
            raise RuntimeError("this executor was started without a gateway")
        return self._socket


class LocalExecutor:
    name = "local"

    def __init__(self, spec: ExecutorSpec) -> None:
        self.spec = spec
        self._node = LocalNode(spec.gateway_socket or "")

    def start(self, gateway: GatewayApp) -> None:
        if gateway.socket_path is None:
            raise RuntimeError("start the gateway before the executor")
        self._node = LocalNode(gateway.socket_path)

    def submit(self, job: Job[T], on_start: OnStart | None = None) -> Done[T]:
        if on_start is not None:
            on_start(None)
        return Done(job.run(self._node), None)

    def where(self) -> dict[str, str]:
        return {}

    def sweep(self, final: bool = True) -> int:
        from sandbox import remove_run_sandboxes

        return remove_run_sandboxes(self.spec.run_label if final else "")

    def close(self) -> None:
        pass

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

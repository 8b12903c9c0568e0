"""Where a sandboxed job runs: this machine (`local`) or a node of a Ray cluster (`ray`).

    with open_executor(ExecutorSpec(name="ray", address="10.0.0.5:6379", ...)) as ex:
        done = ex.submit(job)          # blocks; called from the engine's worker threads
        done.value, done.node

A job (see `Job`) is a picklable piece of sandboxed work with the resources it asks for;
it runs on a node through that node's `NodeContext` (its sandbox backend, its gateway
socket) and returns a value; it writes nothing to the archive. The driver records what
it returns, so selection, bookkeeping and archive writes stay in one place, in order,
whichever executor runs the jobs. The engine picks one with the config's `executor`.
"""

from __future__ import annotations

from dgm.executors.protocol import (
    SANDBOX_RESOURCE,
    Done,
    Executor,
    ExecutorSpec,
    Job,
    NodeContext,
    Resources,
)

EXECUTORS = ("local", "ray")


def open_executor(spec: ExecutorSpec) -> Executor:
    """The executor `spec.name` names; a UserError (one line) if it cannot start."""
    if spec.name == "local":
        from dgm.executors.local import LocalExecutor

        return LocalExecutor(spec)
    if spec.name == "ray":
        from dgm.executors.ray_executor import RayExecutor

        return RayExecutor(spec)
    raise ValueError(f"unknown executor {spec.name!r}: choose one of {', '.join(EXECUTORS)}")


__all__ = [
    "EXECUTORS",
    "SANDBOX_RESOURCE",
    "Done",
    "Executor",
    "ExecutorSpec",
    "Job",
    "NodeContext",
    "Resources",
    "open_executor",
]

"""Isolation for untrusted code: the Sandbox protocol, Docker and local backends, the image.

    from sandbox import Limits, open_backend
    with open_backend("docker", run_label="run-42") as backend:
        with backend.open(Limits(memory_mb=512), env={"TASK": "x"}) as sb:
            sb.put_dir(repo, "/testbed")
            r = sb.run(["python", "-m", "pytest", "-q"], timeout_s=120)
            diff = sb.get_files("/out/patch.diff")

Imports nothing from the other rooms.
"""

from __future__ import annotations

from sandbox.protocol import (
    EngineUnavailable,
    ExecResult,
    FilesRun,
    Limits,
    Sandbox,
    SandboxBackend,
    SandboxError,
    Status,
)

BACKENDS = ("docker", "local")


def open_backend(
    name: str = "docker",
    *,
    unsafe_local: bool = False,
    image: str | None = None,
    run_label: str | None = None,
    pool_size: int = 2,
) -> SandboxBackend:
    """A backend by name. `run_label` (the dgm run id) goes on every container's labels;
    `pool_size` is how many fresh Docker sandboxes are kept started ahead of need;
    `unsafe_local` lets the local backend run without bubblewrap (it then warns on every run)."""
    if name == "docker":
        from sandbox.docker_backend import DockerBackend

        return DockerBackend(image=image, run_label=run_label, pool_size=pool_size)
    if name == "local":
        from sandbox.local_backend import LocalBackend

        return LocalBackend(unsafe_local=unsafe_local)
    raise SandboxError(f"unknown sandbox backend {name!r}: choose one of {', '.join(BACKENDS)}")


def remove_own_sandboxes() -> int:
    """Remove at once every sandbox this process started, for exits that skip cleanup
    handlers. Local sandboxes need nothing: bubblewrap's --die-with-parent ends them."""
    from sandbox.docker_backend import remove_own_containers

    return remove_own_containers()


def remove_own_sandboxes_after_exit() -> None:
    """Have every sandbox this process started removed once it has exited (for `os._exit`:
    see sandbox.reaper, why not before)."""
    from sandbox.reaper import start_after_exit

    start_after_exit()


def remove_run_sandboxes(run_label: str) -> int:
    """Remove every sandbox of run `run_label` on this machine (and orphans of dead
    processes): a run's sweep, once none of them may be in use. Returns how many."""
    from sandbox.docker_backend import remove_run_containers

    return remove_run_containers(run_label)


__all__ = [
    "BACKENDS",
    "EngineUnavailable",
    "ExecResult",
    "FilesRun",
    "Limits",
    "Sandbox",
    "SandboxBackend",
    "SandboxError",
    "Status",
    "open_backend",
    "remove_own_sandboxes",
    "remove_own_sandboxes_after_exit",
    "remove_run_sandboxes",
]

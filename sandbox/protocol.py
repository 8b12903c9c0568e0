"""The sandbox contract: limits in, results out, and the two seams (backend, sandbox).

A backend opens sandboxes; a sandbox takes files in, runs commands under a deadline and
resource limits, hands files back, and is always cleaned up on close (use it as a
context manager). Inside every sandbox the same conventions hold, whatever the backend:

- writable directories: /testbed, /agent, /task, /out and /tmp, each size-capped;
  everything else is read-only;
- `python3` (and `python`) is Python 3.11; `git`, `patch` and `pytest` are present;
- commands run as an unprivileged user (uid SANDBOX_UID), with no network;
- the environment holds only BASE_ENV (PATH, HOME, LANG, PYTHONDONTWRITEBYTECODE), what the
  caller passed to `open` and to `run`, PWD (the working directory, /testbed unless the
  call says otherwise), and `DGM_LLM_SOCKET` when a gateway socket is given
  (its directory, the one opening to the host, is mounted read-only at /run/dgm/). Nothing
  of the host's environment enters;
- a foreign image (one not built by dgm, e.g. an official SWE-bench image) keeps its own
  /testbed, its PATH and root as the user, with HOME=/root: see docs/sandbox.md.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any, Protocol, runtime_checkable

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

SANDBOX_UID = 1000  # the unprivileged user and group commands run as (image_setup.sh creates it)
WRITABLE_DIRS = ("/testbed", "/agent", "/task", "/out", "/tmp")
GATEWAY_DIR = "/run/dgm"
SOCKET_ENV = "DGM_LLM_SOCKET"
# Debian's python3 (the one with pytest) must win over any /usr/local one a base image brings.
BASE_ENV = {
    "PATH": "/usr/bin:/bin:/usr/local/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
}


class SandboxError(Exception):
    """The sandbox itself failed (not the command in it); the message says what."""


class EngineUnavailable(SandboxError):
    """The isolation engine (Docker, bubblewrap) is missing or not answering."""


# Upper bounds of a limit: past them a value means "none" or overflows where it is stored.
MAX_SECONDS = 365 * 86400.0  # a year
MAX_MEMORY_MB = 1 << 20  # 1 TiB: more than any sandbox host has
MAX_CPUS = 1024.0
MIN_MEMORY_MB = 64  # less and not even the sandbox's own runner starts


def not_bool(value: Any) -> Any:
    """YAML's `yes`/`true` is not a number (pydantic would read it as 1)."""
    if isinstance(value, bool):
        raise ValueError(f"give a number, not {str(value).lower()}")
    return value


# The bounds of every sandbox limit, one home for every model that holds one (the sandbox's
# Limits, a run's agent limits, a problem's, STOP's budgets): `timeout_s: Seconds = Field(...)`.
Seconds = Annotated[
    float, BeforeValidator(not_bool), Field(gt=0, le=MAX_SECONDS, allow_inf_nan=False)
]
MemoryMb = Annotated[int, BeforeValidator(not_bool), Field(ge=MIN_MEMORY_MB, le=MAX_MEMORY_MB)]
Cpus = Annotated[float, BeforeValidator(not_bool), Field(gt=0, le=MAX_CPUS, allow_inf_nan=False)]


class Limits(BaseModel):
    """Resource limits for one sandbox. Frozen, so equal limits can share a warm pool."""

    model_config = ConfigDict(frozen=True)

    timeout_s: Seconds = Field(
        default=600.0, description="Deadline of one `run` when the call gives none (seconds)."
    )
    memory_mb: MemoryMb = Field(
        default=2048,
        description="Memory limit (MiB); swap is not allowed beyond it. Files written to the writable dirs count against it too.",
    )
    cpus: Cpus = Field(default=1.0, description="CPU quota, in cores.")
    pids: int = Field(
        default=256, ge=16, description="Most processes/threads alive at once (stops fork bombs)."
    )
    disk_mb: int = Field(
        default=1024, ge=8, description="Size cap of each writable directory (MiB)."
    )
    output_cap_bytes: int = Field(
        default=1 << 20,
        ge=1024,
        description="Most bytes kept of a command's stdout, and of its stderr; the rest is dropped and reported as truncated.",
    )
    copy_out_cap_mb: int = Field(
        default=256,
        ge=1,
        description="Most bytes `get_files`/`get_dir` bring back from one call (MiB).",
    )


DEFAULT_LIMITS = Limits()


class Status(enum.StrEnum):
    """How a command ended."""

    ok = "ok"  # exit code 0
    exit_code = "exit_code"  # exited with a non-zero code
    timeout = "timeout"  # killed at the deadline
    oom = "oom"  # killed for exceeding the memory limit
    killed = "killed"  # killed by a signal for another reason (e.g. an output flood)
    sandbox_error = "sandbox_error"  # the sandbox broke; the command's fate is unknown


@dataclass(frozen=True)
class ExecResult:
    """What one `run` produced. `exit_code` follows the shell: 124 on timeout, 137 on a kill."""

    status: Status
    exit_code: int
    stdout: str
    stderr: str
    duration_s: float
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    output_cap_bytes: int = 0
    flooded: bool = False  # its output passed far beyond the cap, so it was killed

    @property
    def ok(self) -> bool:
        return self.status is Status.ok

    @property
    def output_cut(self) -> bool:
        """Some of the command's output is not here: past the cap, or it was killed for a flood."""
        return self.stdout_truncated or self.stderr_truncated or self.flooded


@dataclass(frozen=True)
class FilesRun:
    """What one `run_with_files` produced: the command's result and the files it fetched
    (relative path -> bytes, as `get_files` gives them), or why none came back
    (`files_error`: the path is missing, over the copy-out cap, the command never ran)."""

    result: ExecResult
    files: dict[str, bytes]
    files_error: str = ""


@dataclass(frozen=True)
class RunRequest:
    """What every backend's `run()` starts from: the argv, the deadline, the working
    directory, the environment on top of the backend's base (the sandbox's, the call's, and
    PWD), the output caps (a flood far past the cap gets the command killed), who runs it,
    who else gets its output live, and when the call started."""

    argv: list[str]
    timeout: float
    workdir: str
    env: dict[str, str]
    cap: int
    flood: int
    user: str | None  # None: the sandbox user
    on_output: Callable[[str, bytes], None] | None
    start: float  # time.monotonic() at the call


def prepare_run(
    cmd: list[str] | str,
    timeout_s: float | None,
    workdir: str | None,
    sandbox_env: Mapping[str, str],
    env: Mapping[str, str] | None,
    limits: Limits,
    user: str | None = None,
    on_output: Callable[[str, bytes], None] | None = None,
) -> RunRequest:
    """Check and normalise a `run()` call the same way in every backend."""
    argv = ["sh", "-c", cmd] if isinstance(cmd, str) else [str(a) for a in cmd]
    if not argv:
        raise SandboxError("run: empty command")
    clean = {str(k): str(v) for k, v in (env or {}).items()}
    if any("=" in k or not k for k in clean):
        raise SandboxError(f"run: bad environment variable name in {sorted(clean)}")
    cap = limits.output_cap_bytes
    timeout = float(timeout_s if timeout_s is not None else limits.timeout_s)
    workdir = workdir or "/testbed"
    # PWD as a shell would set it: bubblewrap sets it anyway, so every backend does.
    full_env = {**sandbox_env, **clean, "PWD": workdir}
    flood = max(64 << 20, 16 * cap)
    return RunRequest(
        argv, timeout, workdir, full_env, cap, flood, user, on_output, time.monotonic()
    )


@runtime_checkable
class Sandbox(Protocol):
    """One isolated place to run untrusted code. Not shared between untrusted runs."""

    def put_dir(self, src: Path, dest: str) -> None:
        """Copy the host directory `src` (its contents) into `dest` inside."""

    def put_files(self, files: Mapping[str, bytes], dest: str) -> None:
        """Write `files` (relative path -> content) under `dest` inside."""

    def run(
        self,
        cmd: list[str] | str,
        *,
        timeout_s: float | None = None,
        workdir: str | None = None,
        env: Mapping[str, str] | None = None,
        user: str | None = None,
        on_output: Callable[[str, bytes], None] | None = None,
    ) -> ExecResult:
        """Run `cmd` (argv, or a string for `sh -c`) in `workdir` (default /testbed) and wait
        for it, at most `timeout_s` (default Limits.timeout_s). `env` adds to the sandbox's
        env. `on_output(stream, chunk)`, when given, also gets the output live (up to the cap).
        Never raises for what the command does: see ExecResult.status."""

    def run_with_files(
        self,
        files: Mapping[str, bytes],
        dest: str,
        cmd: list[str] | str,
        *,
        fetch: str,
        timeout_s: float | None = None,
        workdir: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> FilesRun:
        """`put_files(files, dest)`, `run(cmd, ...)`, then the files `get_files(fetch)` would
        give, in one exchange with the sandbox where the backend can (an evaluation's
        round trips are most of its cost). A refused copy-in raises SandboxError as
        `put_files` does; a failed copy-out is `files_error`, not an exception, since the
        command's result stands without it (none is tried after a `sandbox_error`)."""

    def get_files(self, path: str) -> dict[str, bytes]:
        """The file at `path` ({name: bytes}) or the files under the directory `path`
        (relative path -> bytes). Symlinks and special files are left out; unsafe names
        and oversize output raise SandboxError."""

    def get_dir(self, path: str, dest: Path) -> None:
        """Copy the directory `path` inside to `dest` on the host (same safety as get_files)."""

    def close(self) -> None:
        """Kill everything in the sandbox and remove it. Idempotent."""

    def __enter__(self) -> Sandbox: ...

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None: ...


@runtime_checkable
class SandboxBackend(Protocol):
    """Opens sandboxes of one kind (Docker containers, bubblewrap jails)."""

    name: str

    def open(
        self,
        limits: Limits = DEFAULT_LIMITS,
        env: dict[str, str] | None = None,
        gateway_socket: Path | None = None,
    ) -> Sandbox:
        """A fresh, never-used sandbox; close it (or use `with`) when done."""

    def close(self) -> None:
        """Release what the backend holds (warm pool, threads). Idempotent."""

    def __enter__(self) -> SandboxBackend: ...

    def __exit__(self, *exc: object) -> None: ...

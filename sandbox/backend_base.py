"""What both backends share, so that they cannot drift apart: how a command's exit status
becomes a `Status`, how an `ExecResult` is built, how files are copied in and out (tar run
inside the sandbox), and how the gateway socket is made reachable from the sandbox user.

A backend's sandbox supplies how to run one checked request (`_run`) and one tar call
(`_tar`); the rest of the `Sandbox` protocol (`run` and the file copies) comes from
`TarFiles`. A backend supplies how to start one sandbox (`_start`) and what to release
(`_release`); `open`, `close` and `with` come from `Backend`.
"""

from __future__ import annotations

import os
import posixpath
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from sandbox.closing import Closing
from sandbox.execstream import CappedBuffer
from sandbox.protocol import (
    DEFAULT_LIMITS,
    GATEWAY_DIR,
    SOCKET_ENV,
    WRITABLE_DIRS,
    EngineUnavailable,
    ExecResult,
    FilesRun,
    Limits,
    RunRequest,
    SandboxError,
    Status,
    prepare_run,
)
from sandbox.tarball import pack_dir, pack_files, unpack_files, write_tree

TIMEOUT_CODE = 124  # what `timeout` exits with: a stopped-at-the-deadline command reports it
KILLED_CODE = 137  # 128 + SIGKILL, as a shell reports a command killed by the kernel or us
BROKEN_CODE = 125  # the sandbox broke; the command's fate is unknown
COPY_TIMEOUT_S = 600.0
COPY_IN = 'mkdir -p -- "$0" && exec tar -x -f - --no-same-owner -C "$0"'


# -- how a command ended -------------------------------------------------------------------


def stopped_by_deadline(rc: int, duration_s: float, timeout_s: float) -> bool:
    """Whether a command run under `timeout -s KILL` (or SIGKILLed by the backend itself)
    ended because of its deadline: `timeout` exits 124, or 137 once it had to SIGKILL, and
    a process killed directly reports -9. A command that exits 124 early is not a timeout."""
    return rc in (TIMEOUT_CODE, KILLED_CODE, -9) and duration_s >= timeout_s


def exit_status(rc: int, *, timed_out: bool, oom: Callable[[], bool]) -> tuple[Status, int]:
    """(status, shell-style exit code) of a finished command.

    `rc` is negative when the process was killed by signal -rc (Python's convention) and
    above 128 when a shell reports 128 + the signal. `oom()` says whether the sandbox's OOM
    kill count rose during the command; it is asked only for a command killed by a signal.
    """
    if timed_out:
        return Status.timeout, TIMEOUT_CODE
    if rc == 0:
        return Status.ok, 0
    signal = -rc if rc < 0 else rc - 128 if rc > 128 else 0
    if signal and oom():
        return Status.oom, KILLED_CODE
    if signal:
        return Status.killed, 128 + signal
    return Status.exit_code, rc


def flood_note(flood: int) -> str:
    return f"\n[dgm sandbox: output passed {flood} bytes; the command was killed]\n"


def exec_result(
    status: Status,
    code: int,
    started: float,
    cap: int,
    out: CappedBuffer | None = None,
    err: CappedBuffer | None = None,
    note: str = "",
    flooded: bool = False,
) -> ExecResult:
    """An ExecResult from the kept output (`note`, the sandbox's own word, ends stderr)."""
    out = out if out is not None else CappedBuffer(cap)
    err = err if err is not None else CappedBuffer(cap)
    return ExecResult(
        status=status,
        exit_code=code,
        stdout=_text(out.data),
        stderr=_text(err.data) + note,
        duration_s=time.monotonic() - started,
        stdout_truncated=out.truncated,
        stderr_truncated=err.truncated,
        output_cap_bytes=cap,
        flooded=flooded,
    )


def finished(
    req: RunRequest,
    out: CappedBuffer,
    err: CappedBuffer,
    *,
    rc: int | None,
    flooded: bool = False,
    timed_out: bool = False,
    oom: Callable[[], bool] = lambda: False,
    note: str = "",
) -> ExecResult:
    """The result of a command that ran: `rc` None means it was stopped before it could
    report one (its deadline); `flooded` that its output passed `req.flood` and it was killed."""
    if flooded:
        status, code, note = Status.killed, KILLED_CODE, note + flood_note(req.flood)
    elif rc is None:
        status, code = Status.timeout, TIMEOUT_CODE
    else:
        status, code = exit_status(rc, timed_out=timed_out, oom=oom)
    return exec_result(status, code, req.start, req.cap, out, err, note, flooded)


def broken(req: RunRequest, why: str) -> ExecResult:
    """The result of a command that could not run because the sandbox is closed or broken."""
    return exec_result(Status.sandbox_error, BROKEN_CODE, req.start, req.cap, note=why)


def _text(data: bytes | bytearray) -> str:
    return bytes(data).decode("utf-8", errors="replace")


# -- files in and out ----------------------------------------------------------------------


@dataclass
class TarRun:
    """One tar call inside a sandbox. rc None: it did not finish (deadline, broken sandbox)."""

    out: CappedBuffer
    err: CappedBuffer
    rc: int | None
    too_big: bool = False  # its output passed the cap
    broken: str | None = None  # why the sandbox broke, if it did

    def why(self) -> str:
        return _text(self.err.data).strip()[:500] or self.broken or f"exit code {self.rc}"


class TarFiles(Closing):
    """`run`, checked the same way in every backend, and `put_dir`, `put_files`, `get_files`
    and `get_dir` through tar run inside the sandbox, so a symlink planted by sandboxed code
    is resolved in there, never on the host. The backend's sandbox class provides `limits`,
    `env`, `_run`, `_tar` and, when paths differ, `_path`."""

    limits: Limits
    env: dict[str, str]
    _run: Callable[[RunRequest], ExecResult]  # run the checked request
    strict_dest = True  # copy-in only into WRITABLE_DIRS (False: a foreign image's own layout)

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
        """See Sandbox.run; `on_output(stream, chunk)` also receives the output as it comes."""
        req = prepare_run(cmd, timeout_s, workdir, self.env, env, self.limits, user, on_output)
        return self._run(req)

    def _tar(self, argv: list[str], stdin: bytes | None, cap: int, flood: int) -> TarRun:
        """Run `argv` (a tar pipeline) in the sandbox as the sandbox user, under COPY_TIMEOUT_S."""
        raise NotImplementedError

    def _path(self, path: str) -> str:
        """Where `path` (inside the sandbox) is for `_tar`; the same path, unless overridden."""
        return path

    def put_dir(self, src: Path, dest: str) -> None:
        self._copy_in(pack_dir(Path(src)), dest)

    def put_files(self, files: Mapping[str, bytes], dest: str) -> None:
        self._copy_in(pack_files(files), dest)

    def _copy_in(self, data: bytes, dest: str) -> None:
        if self.strict_dest:
            check_writable(dest)
        run = self._tar(["sh", "-c", COPY_IN, self._path(dest)], data, 1 << 16, 1 << 20)
        if run.rc != 0:
            raise SandboxError(f"copy into {dest} failed: {run.why()}")

    def get_files(self, path: str) -> dict[str, bytes]:
        cap = self.limits.copy_out_cap_mb << 20
        norm = check_absolute(path, "get_files")
        parent, name = posixpath.split(self._path(norm))
        tar_cap = cap + cap // 8 + (1 << 20)  # tar's headers and padding on top of the content
        run = self._tar(
            ["tar", "-c", "-f", "-", "-C", parent or "/", name or "."], None, tar_cap, tar_cap
        )
        if run.too_big:
            raise SandboxError(
                f"copy out of {path} is larger than the cap of {cap} bytes; raise Limits.copy_out_cap_mb"
            )
        if run.rc != 0:
            raise SandboxError(f"copy out of {path} failed: {run.why()}")
        return unpack_files(bytes(run.out.data), cap, strip_top=True)

    def get_dir(self, path: str, dest: Path) -> None:
        write_tree(self.get_files(path), Path(dest))

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
        """See Sandbox.run_with_files: here its three steps, one after the other (the Docker
        backend's runner does them in one exchange)."""
        self.put_files(files, dest)
        result = self.run(cmd, timeout_s=timeout_s, workdir=workdir, env=env)
        if result.status is Status.sandbox_error:
            return FilesRun(result, {}, "the sandbox broke during the command")
        try:
            return FilesRun(result, self.get_files(fetch))
        except EngineUnavailable:
            raise
        except SandboxError as e:
            return FilesRun(result, {}, str(e))


def check_writable(path: str) -> str:
    """`path` normalised, or SandboxError when it is outside the writable directories."""
    norm = posixpath.normpath(path)
    if not any(norm == d or norm.startswith(d + "/") for d in WRITABLE_DIRS):
        raise SandboxError(f"{path} is outside the writable directories {', '.join(WRITABLE_DIRS)}")
    return norm


def check_absolute(path: str, what: str) -> str:
    """`path` normalised, or SandboxError when it is not absolute (a path to copy out)."""
    norm = posixpath.normpath(path)
    if not norm.startswith("/"):
        raise SandboxError(f"{what}: {path!r} must be an absolute path inside the sandbox")
    return norm


# -- the gateway socket --------------------------------------------------------------------


def prepare_gateway(gateway_socket: Path | None) -> tuple[Path | None, dict[str, str]]:
    """(host directory to mount read-only at GATEWAY_DIR, env naming the socket inside).

    The sandbox user is another uid: it may traverse the socket's directory (not list it)
    and connect to the socket."""
    if gateway_socket is None:
        return None, {}
    sock = Path(gateway_socket).absolute()
    if not sock.parent.is_dir():
        raise SandboxError(f"gateway socket directory {sock.parent} does not exist")
    os.chmod(sock.parent, sock.parent.stat().st_mode | 0o001)
    if sock.exists():
        os.chmod(sock, sock.stat().st_mode | 0o006)
    return sock.parent, {SOCKET_ENV: posixpath.join(GATEWAY_DIR, sock.name)}


S = TypeVar("S")


class Backend(Closing, Generic[S]):
    """The `SandboxBackend` protocol for a backend whose sandboxes are `S`: one that is
    closed opens nothing more, and closing twice releases once."""

    name: str
    kind: str  # as an error names it: "Docker", "local"
    _closed = False

    def _start(self, limits: Limits, env: dict[str, str], gateway_socket: Path | None) -> S:
        raise NotImplementedError

    def _release(self) -> None:
        """What closing the backend frees (a warm pool, the sandboxes still open)."""

    def open(
        self,
        limits: Limits = DEFAULT_LIMITS,
        env: dict[str, str] | None = None,
        gateway_socket: Path | None = None,
    ) -> S:
        if self._closed:
            raise SandboxError(f"this {self.kind} backend is closed")
        return self._start(limits, dict(env or {}), gateway_socket)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._release()

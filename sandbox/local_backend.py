"""The local backend, for machines without Docker: bubblewrap plus limits.

Each `run` is one `bwrap` call: new user, pid, network, ipc, uts and cgroup namespaces
(`--unshare-all`), `--die-with-parent`, `--new-session`, the host's system directories
read-only (/usr, /etc and the libraries; never /home, /root, /tmp, /var or the
repository; so the host needs Debian's python3, python3-pytest, git and patch), and the sandbox's own writable directories bound
at /testbed, /agent, /task, /out and /tmp. When bwrap's pid 1 exits, the kernel kills
everything left in the namespace, so no process outlives its `run`.

Limits: as root, each sandbox gets its own unprivileged uid (so sandboxes cannot touch
each other), a cgroup (memory = memory+swap, pids, CPU quota; OOM kills are counted), and
size-capped tmpfs mounts as its writable directories. Without root (or without writable
cgroups) it falls back to rlimits (address space per process, processes per uid, file
size), which are weaker: see docs/sandbox.md. Files move in and out through `tar` run
inside the sandbox, so a symlink planted by sandboxed code is resolved inside, never on
the host.

Without bubblewrap it refuses, unless `unsafe_local=True`: then commands run directly on
the host (rlimits and a deadline only) and every run warns.
"""

from __future__ import annotations

import itertools
import logging
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

from sandbox import cgroups
from sandbox.backend_base import (
    COPY_TIMEOUT_S,
    Backend,
    TarFiles,
    TarRun,
    broken,
    check_writable,
    finished,
    prepare_gateway,
    stopped_by_deadline,
)
from sandbox.execstream import CappedBuffer, capped_pair
from sandbox.owner import owner_alive, owner_token
from sandbox.protocol import (
    BASE_ENV,
    GATEWAY_DIR,
    SANDBOX_UID,
    WRITABLE_DIRS,
    ExecResult,
    Limits,
    RunRequest,
    SandboxError,
)

log = logging.getLogger(__name__)

GRACE_S = 5.0
UID_BASE = 200_000  # sandbox uids (root only): far from real users
_uids = itertools.count()
_uid_lock = threading.Lock()


class UnsafeLocalWarning(UserWarning):
    """Untrusted code ran without bubblewrap: no isolation at all."""


# Python shows a warning once per call site by default; this one must show on every run.
warnings.filterwarnings("always", category=UnsafeLocalWarning)


def bwrap_works() -> tuple[bool, str]:
    """(usable, detail): is bubblewrap installed and able to make namespaces here?"""
    path = shutil.which("bwrap")
    if path is None:
        return False, "bwrap not installed (apt-get install bubblewrap)"
    try:
        proc = subprocess.run(
            # the binds a sandbox makes, not the whole root: binding / read-only remounts every
            # mount under it, and a container's overlay going away meanwhile fails the probe
            [path, "--unshare-all", "--die-with-parent", *_system_binds(), "true"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"bwrap does not run: {e}"
    if proc.returncode != 0:
        return False, f"bwrap cannot create namespaces: {proc.stderr.strip()[:200]}"
    return True, path


def guarantees() -> str:
    """What the local backend can enforce on this machine (shown by `dgm sandbox doctor`)."""
    if os.geteuid() != 0:
        return "rlimits only (not root): per-process memory, per-uid processes, per-file size"
    probe = cgroups.create(f"probe-{os.getpid()}", 64, 16, 1.0)
    if probe is None:
        return "own uid and tmpfs caps; rlimits for memory/pids (cgroups not writable)"
    kind = "v2" if probe.v2 else "v1"
    probe.remove()
    return f"own uid, cgroup {kind} (memory+swap, pids, cpu), tmpfs caps"


def _system_binds() -> list[str]:
    """Read-only views of what programs need, following merged-/usr symlinks."""
    args: list[str] = []
    for p in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"):
        if os.path.islink(p):
            args += ["--symlink", os.readlink(p), p]
        elif os.path.isdir(p):
            args += ["--ro-bind", p, p]
    return args


PREFIX = "dgm-sandbox-"


def remove_orphans() -> int:
    """Clean up local sandboxes whose owning process died: processes, mounts, cgroup, files."""
    removed = 0
    for d in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            token = (d / "owner").read_text()
        except OSError:
            continue
        if owner_alive(token):
            continue
        cleanup(d)
        removed += 1
    return removed


def cleanup(d: Path) -> None:
    cg = cgroups.find(d.name)
    if cg is not None:
        cg.remove()
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for m in sorted((m for m in mounts if m.startswith(f"{d}/")), reverse=True):
        subprocess.run(["umount", "-l", m], capture_output=True)
    shutil.rmtree(d, ignore_errors=True)


class LocalBackend(Backend["LocalSandbox"]):
    """Opens bubblewrap sandboxes (or, with `unsafe_local`, unisolated host directories)."""

    name = kind = "local"

    def __init__(self, *, unsafe_local: bool = False) -> None:
        ok, detail = bwrap_works()
        if not ok and not unsafe_local:
            raise SandboxError(
                f"the local backend needs bubblewrap ({detail}): install it or use the Docker sandbox "
                "(only `dgm sandbox run --unsafe-local` runs a command without isolation)"
            )
        self.bwrap = shutil.which("bwrap") if ok else None
        self.root = os.geteuid() == 0
        self.orphans_removed = remove_orphans()
        self._open: set[LocalSandbox] = set()

    def _start(
        self, limits: Limits, env: dict[str, str], gateway_socket: Path | None
    ) -> LocalSandbox:
        sb = LocalSandbox(self, limits, env, gateway_socket)
        self._open.add(sb)
        return sb

    def _release(self) -> None:
        for sb in list(self._open):
            sb.close()


class LocalSandbox(TarFiles):
    """One bubblewrap sandbox: a host directory of writable dirs, a uid, a cgroup."""

    def __init__(
        self,
        backend: LocalBackend,
        limits: Limits,
        env: dict[str, str],
        gateway_socket: Path | None,
    ) -> None:
        self.backend = backend
        self.limits = limits
        self.env = env
        self._lock = threading.Lock()
        self._closed = False
        self.cgroup: cgroups.Cgroup | None = None
        self._oom_seen = 0
        self.dir = Path(tempfile.mkdtemp(prefix=PREFIX))
        (self.dir / "owner").write_text(owner_token())
        try:
            self._setup(gateway_socket)
        except BaseException:
            self.close()
            raise

    def _setup(self, gateway_socket: Path | None) -> None:
        root = self.backend.root
        with _uid_lock:
            self.uid = (
                UID_BASE + (os.getpid() % 1000) * 1000 + next(_uids) % 1000 if root else os.getuid()
            )
        os.chmod(self.dir, 0o711)  # the sandbox uid must traverse it, nobody may list it
        for d in WRITABLE_DIRS:
            host = self.dir / d.strip("/")
            host.mkdir()
            if root:
                mode = "1777" if d == "/tmp" else "0755"
                self._mount(
                    [
                        "-t",
                        "tmpfs",
                        "-o",
                        f"size={self.limits.disk_mb}m,mode={mode},uid={self.uid},gid={self.uid},nosuid,nodev",
                        "tmpfs",
                        str(host),
                    ]
                )
        self.gateway_dir, socket_env = prepare_gateway(gateway_socket)
        if self.gateway_dir is not None and root:
            # The unprivileged bwrap may not reach the socket's path: bring it here.
            self.gateway_dir, host_dir = self.dir / "gateway", self.gateway_dir
            self.gateway_dir.mkdir()
            self._mount(["--bind", str(host_dir), str(self.gateway_dir)])
        self.env.update(socket_env)
        if root:
            self.cgroup = cgroups.create(
                self.dir.name, self.limits.memory_mb, self.limits.pids, self.limits.cpus
            )

    def _mount(self, args: list[str]) -> None:
        proc = subprocess.run(["mount", *args], capture_output=True, text=True)
        if proc.returncode != 0:
            raise SandboxError(
                f"local sandbox: mount {' '.join(args)} failed: {proc.stderr.strip()}"
            )

    # -- the command line of one call ---------------------------------------------------------

    def _argv(
        self, cmd: list[str], workdir: str, env: Mapping[str, str], timeout: float | None
    ) -> list[str]:
        inner = (["timeout", "-s", "KILL", f"{timeout:.3f}"] if timeout is not None else []) + cmd
        full_env = {**BASE_ENV, **env}
        if self.backend.bwrap is None:  # --unsafe-local: on the host, in the translated workdir
            return self._limits_prefix() + [
                "env",
                "-i",
                *(f"{k}={v}" for k, v in full_env.items()),
                "sh",
                "-c",
                'cd "$0" && exec "$@"',
                workdir,
                *inner,
            ]
        args = [
            self.backend.bwrap,
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "sandbox",
            "--uid",
            str(SANDBOX_UID),
            "--gid",
            str(SANDBOX_UID),
            "--cap-drop",
            "ALL",
            *_system_binds(),
            "--proc",
            "/proc",
            "--dev",
            "/dev",
        ]
        for d in WRITABLE_DIRS:
            args += ["--bind", str(self.dir / d.strip("/")), d]
        if self.gateway_dir is not None:
            args += ["--ro-bind", str(self.gateway_dir), GATEWAY_DIR]
        args += ["--remount-ro", "/", "--clearenv"]  # bwrap's own root tmpfs is writable otherwise
        for k, v in full_env.items():
            args += ["--setenv", k, v]
        args += ["--chdir", workdir, "--", *inner]
        return self._limits_prefix() + args

    def _limits_prefix(self) -> list[str]:
        lim = self.limits
        rl = ["--core=0", "--nofile=4096"]
        if not self.backend.root:  # no tmpfs caps without root: at least cap each file
            rl.append(f"--fsize={lim.disk_mb << 20}")
        if self.cgroup is None:
            rl += [
                f"--as={lim.memory_mb << 20}",
                f"--nproc={lim.pids + (0 if self.backend.root else _user_procs())}",
            ]
        prefix = ["prlimit", *rl, "--"]
        if self.backend.root:
            prefix = [
                "setpriv",
                f"--reuid={self.uid}",
                f"--regid={self.uid}",
                "--clear-groups",
                *prefix,
            ]
        if self.cgroup is not None:
            join = (
                'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'
            )
            prefix = ["sh", "-c", join, "sh", *self.cgroup.procs_files, "--", *prefix]
        return prefix

    # -- running -------------------------------------------------------------------------------

    def _run(self, req: RunRequest) -> ExecResult:
        if req.user not in (None, str(SANDBOX_UID), f"{SANDBOX_UID}:{SANDBOX_UID}", "sandbox"):
            raise SandboxError(
                f"the local backend runs everything as the sandbox user, not {req.user!r}"
            )
        if self.backend.bwrap is None:
            warnings.warn(
                "running untrusted code WITHOUT isolation (--unsafe-local, no bubblewrap)",
                UnsafeLocalWarning,
                stacklevel=2,
            )
        with self._lock:
            if self._closed:
                return broken(req, "sandbox is closed")
            argv = self._argv(req.argv, self._path(req.workdir), req.env, req.timeout)
            out, err, rc, flooded = self._call(
                argv, None, req.timeout + GRACE_S, req.cap, req.flood, req.on_output
            )
            self._sweep()  # the pid namespace is dying with bwrap; make sure, and at once
            oom = self._oom_increased()  # read after every command, so each sees only its own
        timed_out = rc is not None and stopped_by_deadline(
            rc, time.monotonic() - req.start, req.timeout
        )
        return finished(req, out, err, rc=rc, flooded=flooded, timed_out=timed_out, oom=lambda: oom)

    def _oom_increased(self) -> bool:
        count = self.cgroup.oom_kills() if self.cgroup else 0
        increased, self._oom_seen = count > self._oom_seen, count
        return increased

    def _call(
        self,
        argv: list[str],
        stdin: bytes | None,
        limit_s: float,
        cap: int,
        flood: int,
        on_output: Callable[[str, bytes], None] | None = None,
    ) -> tuple[CappedBuffer, CappedBuffer, int | None, bool]:
        """Run argv; (stdout, stderr, exit code or None at the outer deadline, flooded)."""
        out, err = capped_pair(cap, cap, on_output)
        deadline = time.monotonic() + limit_s
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
                cwd="/",
            )
        except OSError as e:
            raise SandboxError(f"local sandbox: cannot start {argv[0]}: {e}") from e
        assert proc.stdout is not None and proc.stderr is not None
        sinks = {proc.stdout.fileno(): out, proc.stderr.fileno(): err}
        to_send = memoryview(stdin) if stdin is not None else None
        flooded = False
        if proc.stdin is not None:
            os.set_blocking(proc.stdin.fileno(), False)
        while sinks and time.monotonic() < deadline and not flooded:
            wl = [proc.stdin.fileno()] if to_send is not None and proc.stdin is not None else []
            r, w, _ = select.select(
                list(sinks), wl, [], min(1.0, max(0.0, deadline - time.monotonic()))
            )
            if w and to_send is not None and proc.stdin is not None:
                try:
                    to_send = to_send[os.write(proc.stdin.fileno(), to_send[: 1 << 20]) :]
                except BlockingIOError:
                    pass
                except BrokenPipeError:
                    to_send = memoryview(b"")
                if len(to_send) == 0:
                    proc.stdin.close()
                    to_send = None
            for fd in r:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    del sinks[fd]
                else:
                    sinks[fd].write(chunk)
            flooded = out.seen + err.seen > flood
        finished = not sinks
        if not finished:
            self._kill(proc)
        try:
            rc = proc.wait(timeout=max(0.1, deadline - time.monotonic()) if finished else 10)
        except subprocess.TimeoutExpired:
            self._kill(proc)
            rc = None
            proc.wait(10)
        for f in (proc.stdout, proc.stderr, proc.stdin):
            if f is not None and not f.closed:
                f.close()
        if flooded:
            return out, err, None, True
        return out, err, (rc if finished else None), False

    def _kill(self, proc: subprocess.Popen[bytes]) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._sweep()

    def _sweep(self) -> None:
        """Kill every process of this sandbox (its cgroup, else its uid when it has its own)."""
        if self.cgroup is not None:
            for pid in self.cgroup.pids():
                _kill_quietly(pid)
        elif self.backend.root:
            for pid in _pids_of_uid(self.uid):
                _kill_quietly(pid)

    # -- files ----------------------------------------------------------------------------------

    def _path(self, path: str) -> str:
        """Under --unsafe-local the sandbox's directories are host directories: translate."""
        if self.backend.bwrap is not None:
            return path
        return str(self.dir / check_writable(path).strip("/"))

    def _tar(self, argv: list[str], stdin: bytes | None, cap: int, flood: int) -> TarRun:
        with self._lock:
            self._check_open()
            argv = self._argv(argv, "/", {}, None)
            out, err, rc, flooded = self._call(argv, stdin, COPY_TIMEOUT_S, cap, flood)
        return TarRun(out, err, rc, too_big=out.truncated or flooded)

    # -- lifecycle ------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise SandboxError("sandbox is closed")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._sweep()
        cleanup(self.dir)
        self.backend._open.discard(self)


def _kill_quietly(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _pids_of_uid(uid: int) -> list[int]:
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if p.stat().st_uid == uid:
                    pids.append(int(p.name))
            except OSError:
                pass
    return pids


def _user_procs() -> int:
    return len(_pids_of_uid(os.getuid()))

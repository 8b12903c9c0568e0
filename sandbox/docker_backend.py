"""The Docker backend: one hardened, fresh container per sandbox, from a warm pool.

Hardening (each item has its reason in docs/sandbox.md): no network, every capability
dropped, no-new-privileges, a non-root user for everything we run, a pids limit, memory
equal to memory+swap, a CPU quota, a read-only root filesystem with size-capped tmpfs
mounts (with `exec`) as the only writable places, output caps, and a deadline enforced
twice (inside by `timeout -s KILL`, outside by force-removing the container).

Files move as tar streams through the container's runner (or `docker exec` for foreign
images; see backend_base.TarFiles), because `put_archive` cannot see tmpfs mounts and
fails on a read-only root.
"""

from __future__ import annotations

import atexit
import json
import logging
import re
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import requests
from docker.types import Ulimit

from sandbox import image as sandbox_image
from sandbox.backend_base import (
    BROKEN_CODE,
    COPY_TIMEOUT_S,
    TIMEOUT_CODE,
    Backend,
    TarFiles,
    TarRun,
    broken,
    check_absolute,
    check_writable,
    exec_result,
    finished,
    prepare_gateway,
    stopped_by_deadline,
)
from sandbox.execstream import (
    CappedBuffer,
    FetchedFiles,
    FrameReader,
    MessageReader,
    StreamOutcome,
    capped_pair,
    pump,
)
from sandbox.owner import owner_alive, owner_token
from sandbox.pool import WarmPool
from sandbox.protocol import (
    BASE_ENV,
    DEFAULT_LIMITS,
    GATEWAY_DIR,
    SANDBOX_UID,
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
from sandbox.tarball import file_mode, safe_relpath

log = logging.getLogger(__name__)

USER = f"{SANDBOX_UID}:{SANDBOX_UID}"
LABEL = "dgm.sandbox"
GRACE_S = 10.0  # after the inner deadline, how long before the container is force-removed
RESET_TIMEOUT_S = 30.0  # a reset that takes longer gets the container removed instead
COPY_GRACE_S = 60.0  # on top of a command's deadline, for the files its request moves
FETCH_FILES = 10_000  # most files (and folders, the runner counts) one `run_with_files` brings back
START_HINT = "start one with `bash scripts/dockerd.sh`, or use `--sandbox local`"

# Runs the command under `timeout -s KILL`, then kills every process the sandbox user still
# has (background jobs, setsid escapees), so nothing outlives the call; keeps its exit code.
# $0 is the deadline in seconds; "$@" the command.
WRAPPER = (
    'timeout -s KILL "$0" "$@"; rc=$?; i=0; '
    "while kill -9 -1 2>/dev/null && [ $i -lt 100 ]; do i=$((i+1)); done; exit $rc"
)
SWEEP = [
    "sh",
    "-c",
    "i=0; while kill -9 -1 2>/dev/null && [ $i -lt 100 ]; do i=$((i+1)); done; true",
]
RUNNER_SOURCE = (Path(__file__).with_name("runner.py")).read_text()
ZYGOTE_SOURCE = (Path(__file__).with_name("zygote.py")).read_text()
OOM_COUNTER = [
    "sh",
    "-c",
    "cat /sys/fs/cgroup/memory/memory.oom_control 2>/dev/null || cat /sys/fs/cgroup/memory.events",
]


@dataclass(frozen=True)
class ContainerSpec:
    """What a container is created with; sandboxes with equal specs share a pool."""

    image: str
    memory_mb: int
    cpus: float
    pids: int
    disk_mb: int
    gateway_dir: str | None
    native: bool  # a dgm-sandbox image; False: a foreign image that brings its own /testbed


def connect() -> docker.DockerClient:
    """A client to a live engine, or EngineUnavailable with what to do."""
    try:
        client = docker.from_env(max_pool_size=64)
        client.ping()
        return client
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as e:
        reason = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise EngineUnavailable(f"no Docker engine answers ({reason}); {START_HINT}") from None


def _force_remove(client: docker.DockerClient, containers: list[dict]) -> int:
    """Force-remove these containers (as listed by the API); returns how many went."""
    removed = 0
    for c in containers:
        try:
            client.api.remove_container(c["Id"], force=True)
            removed += 1
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as e:
            log.warning("could not remove sandbox %s: %s", c["Id"][:12], e)
    return removed


def remove_orphans(client: docker.DockerClient) -> int:
    """Remove sandbox containers whose owning process is gone. Returns how many."""
    orphans = [
        c
        for c in client.api.containers(all=True, filters={"label": LABEL})
        if (token := (c.get("Labels") or {}).get("dgm.owner", "")) and not owner_alive(token)
    ]
    return _force_remove(client, orphans)


def remove_own_containers() -> int:
    """Force-remove every sandbox this process started. For exits that skip atexit;
    otherwise only the next backend's orphan sweep would reclaim them. Returns how many;
    never raises."""
    return remove_containers_of(owner_token())


def remove_containers_of(owner: str) -> int:
    """Force-remove every sandbox of the process `owner` (an owner token); never raises."""
    try:
        client = docker.from_env()
        return _force_remove(
            client, client.api.containers(all=True, filters={"label": f"dgm.owner={owner}"})
        )
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError):
        return 0


def remove_run_containers(run_label: str) -> int:
    """Force-remove every sandbox of this run on this engine (none for ""), and any
    orphans. For a run's end, when none of its sandboxes may still be in use. Returns how
    many; 0 when no engine answers."""
    try:
        client = docker.from_env()
        mine = (
            client.api.containers(all=True, filters={"label": f"dgm.run={run_label}"})
            if run_label
            else []
        )
        return _force_remove(client, mine) + remove_orphans(client)
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError):
        return 0


class DockerBackend(Backend["DockerSandbox"]):
    """Opens hardened containers; keeps a warm pool of fresh ones per container spec."""

    name = "docker"
    kind = "Docker"

    def __init__(
        self,
        *,
        image: str | None = None,
        run_label: str | None = None,
        pool_size: int = 2,
        recycle: bool = False,
        unprivileged: bool = False,
        preload: tuple[str, ...] = (),
    ) -> None:
        """`unprivileged`: in a foreign image too, run everything as the sandbox user, with
        the writable mounts its own (a problem's evaluator image brings no /testbed).
        `preload`: packages a pre-started interpreter in each container imports once, so
        that `python3 SCRIPT` commands fork from it (sandbox/zygote.py); dgm images only."""
        self.client = connect()
        self.image = image or sandbox_image.image_tag()
        if not sandbox_image.image_exists(self.client, self.image):
            raise SandboxError(f"sandbox image {self.image} is not built: run `dgm sandbox build`")
        config = self.client.api.inspect_image(self.image).get("Config") or {}
        # A foreign image (e.g. an official SWE-bench one) keeps its own /testbed, PATH and
        # root user; see docs/sandbox.md for what that gives up.
        self.native = bool((config.get("Labels") or {}).get("dgm.inputs"))
        image_env = dict(e.split("=", 1) for e in config.get("Env") or [] if "=" in e)
        self.base_env = (
            dict(BASE_ENV)
            if self.native
            else {
                **BASE_ENV,
                "HOME": "/tmp" if unprivileged else "/root",
                **{k: v for k, v in image_env.items() if k == "PATH"},
            }
        )
        self.user = USER if self.native or unprivileged else "0:0"
        self.run_label = run_label or ""
        self.owner = owner_token()
        self.orphans_removed = remove_orphans(self.client)
        # Recycling needs the runner, which puts a container back as it started; a foreign
        # image has no runner and a writable root, so its containers are never reused.
        self.recycle = recycle and self.native
        self.zygote = zygote_request(preload) if self.native else None
        self._controls: dict[str, tuple[object, socket.socket]] = {}
        self._controls_lock = threading.Lock()
        self.pool: WarmPool[ContainerSpec] = WarmPool(
            self._create, self._remove, pool_size, self._reset if self.recycle else None
        )
        atexit.register(self.close)

    def _start(
        self, limits: Limits, env: dict[str, str], gateway_socket: Path | None
    ) -> DockerSandbox:
        gw_dir, gw_env = prepare_gateway(gateway_socket)
        spec = self._spec(limits, gw_dir)
        try:
            cid = self.pool.take(spec)
        except (docker.errors.APIError, requests.exceptions.RequestException) as e:
            if not self.answers():
                why = f"the Docker engine stopped answering ({_first_line(e)})"
                raise self.engine_lost(why) from e
            raise SandboxError(f"could not start a sandbox container: {e}") from e
        return DockerSandbox(self, cid, limits, {**env, **gw_env})

    def answers(self) -> bool:
        """Whether the engine answers now."""
        try:
            self.client.ping()
            return True
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError):
            return False

    def lost_from_outside(self, cid: str) -> str | None:
        """Why the container `cid` stopped by no doing of the code in it, or None. Its
        runner (PID 1) ignores every signal sent from inside, so a container that is gone,
        or stopped without the OOM killer, was stopped by the engine (a restart) or by
        someone else; an engine that does not answer says the same."""
        try:
            state = self.client.api.inspect_container(cid).get("State") or {}
        except docker.errors.NotFound:
            return "its container was removed from outside the sandbox"
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as e:
            return f"the Docker engine stopped answering ({_first_line(e)})"
        if state.get("Running") or state.get("OOMKilled"):
            return None
        return (
            f"its container was stopped from outside the sandbox (exit code "
            f"{state.get('ExitCode')}): the Docker engine restarted, or someone stopped it"
        )

    def engine_lost(self, why: str) -> EngineUnavailable:
        """The error for a job the engine failed, not the code in it; the pool's ready
        containers went with the engine, so they are dropped."""
        self.pool.drop_ready()
        return EngineUnavailable(f"the sandbox failed from outside: {why}")

    def warm(self, limits: Limits = DEFAULT_LIMITS, gateway_socket: Path | None = None) -> None:
        """Fill the pool for these limits now (and wait), so the first opens are fast."""
        gw_dir, _ = prepare_gateway(gateway_socket)
        self.pool.give_back(self.pool.take(self._spec(limits, gw_dir)))
        self.pool.wait_idle()

    def prefill(self, limits: Limits = DEFAULT_LIMITS) -> None:
        """Start filling the pool for these limits in the background and return at once:
        the containers (and their pre-started interpreters) get made while the caller
        starts up, instead of when the first sandbox is opened."""
        self.pool.fill(self._spec(limits, None))

    def _spec(self, limits: Limits, gateway_dir: Path | None) -> ContainerSpec:
        return ContainerSpec(
            self.image,
            limits.memory_mb,
            limits.cpus,
            limits.pids,
            limits.disk_mb,
            None if gateway_dir is None else str(gateway_dir),
            self.native,
        )

    def _release(self) -> None:
        self.pool.close()

    def _create(self, spec: ContainerSpec) -> str:
        api = self.client.api
        owner = f"uid={SANDBOX_UID},gid={SANDBOX_UID}," if self.user == USER else ""
        tmpfs = {
            d: f"rw,exec,nosuid,nodev,size={spec.disk_mb}m,{owner}mode={'1777' if d == '/tmp' else '0755'}"
            for d in WRITABLE_DIRS
            if spec.native or d != "/testbed"
        }
        binds = (
            {spec.gateway_dir: {"bind": GATEWAY_DIR, "mode": "ro"}} if spec.gateway_dir else None
        )
        host_config = api.create_host_config(
            network_mode="none",
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            pids_limit=spec.pids,
            mem_limit=f"{spec.memory_mb}m",
            memswap_limit=f"{spec.memory_mb}m",
            nano_cpus=int(spec.cpus * 1e9),
            read_only=spec.native,
            tmpfs=tmpfs,
            binds=binds,
            init=not spec.native,
            ipc_mode="private",
            shm_size="16m",
            ulimits=[
                Ulimit(name="core", soft=0, hard=0),
                Ulimit(name="nofile", soft=4096, hard=4096),
            ],
        )
        labels = {LABEL: "1", "dgm.run": self.run_label, "dgm.owner": self.owner}
        if spec.native:
            # PID 1 is the runner (sandbox/runner.py): commands start in microseconds
            # instead of a runc exec each; as the namespace's init it cannot be killed from inside.
            command, user, stdin_open = ["python3", "-I", "-c", RUNNER_SOURCE], USER, True
        else:
            # PID 1 (docker-init) and its sleep run as `nobody`: neither the sandbox user nor
            # a capability-less root may signal them, so the `kill -9 -1` sweep after each
            # command cannot stop the container itself.
            command, user, stdin_open = ["sleep", "infinity"], "65534:65534", False
        c = api.create_container(
            spec.image,
            command=command,
            user=user,
            stdin_open=stdin_open,
            hostname="sandbox",
            environment={"PATH": self.base_env["PATH"]},
            working_dir="/testbed",
            labels=labels,
            host_config=host_config,
        )
        try:
            api.start(c["Id"])
        except Exception:
            self._remove(c["Id"])
            raise
        if spec.native and self.zygote is not None:
            self._start_zygote(c["Id"])
        return c["Id"]

    def _remove(self, cid: str) -> None:
        self._forget_control(cid)
        try:
            self.client.api.remove_container(cid, force=True)
        except docker.errors.NotFound:
            pass

    def control(self, cid: str) -> socket.socket:
        """The attached stdin/stdout of a container's runner, kept open for its whole life
        (a recycled container keeps its stream: attaching again costs a round trip)."""
        with self._controls_lock:
            pair = self._controls.get(cid)
        if pair is None:
            io = self.client.api.attach_socket(
                cid, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
            pair = (io, getattr(io, "_sock", io))
            with self._controls_lock:
                self._controls[cid] = pair
        return pair[1]

    def _forget_control(self, cid: str) -> None:
        with self._controls_lock:
            pair = self._controls.pop(cid, None)
        if pair is not None:
            try:
                pair[1].close()
            except OSError:
                pass

    def _reset(self, cid: str) -> bool:
        """Ask the runner to put the container back as it started (sandbox/runner.py
        `reset`); True only when it says it did and checked it."""
        info = self._control_exchange(cid, b'{"reset": true}\n', "reset")
        if info is None:
            return False
        if info.get("clean") is not True:
            log.warning("sandbox %s not reused: %s", cid[:12], info.get("why") or "no answer")
            return False
        return True

    def _start_zygote(self, cid: str) -> None:
        """Have the runner start the pre-started interpreter now, in a container not yet
        handed out, so that its imports are done before the first command asks for it."""
        line = json.dumps({"zygote_start": self.zygote}).encode() + b"\n"
        self._control_exchange(cid, line, "start the pre-started interpreter of")

    def _control_exchange(self, cid: str, line: bytes, what: str) -> dict[str, object] | None:
        """Send the runner one request between commands; its exit report, or None."""
        messages = MessageReader(CappedBuffer(1 << 14), CappedBuffer(1 << 14))
        frames = FrameReader(messages, CappedBuffer(1 << 14))  # type: ignore[arg-type]
        to_send = memoryview(line)
        deadline = time.monotonic() + RESET_TIMEOUT_S
        try:
            sock = self.control(cid)
            sock.setblocking(False)
            while messages.exit is None and time.monotonic() < deadline:
                readable, writable, _ = select.select(
                    [sock], [sock] if len(to_send) else [], [], 1.0
                )
                if writable:
                    to_send = to_send[sock.send(to_send) :]
                if readable:
                    chunk = sock.recv(1 << 16)
                    if not chunk:
                        break
                    frames.feed(chunk)
        except (OSError, docker.errors.APIError, requests.exceptions.RequestException) as e:
            log.warning("sandbox %s: could not %s it: %s", cid[:12], what, e)
            return None
        return messages.exit


class DockerSandbox(TarFiles):
    """One fresh container. Calls are serialised; `close()` removes it."""

    def __init__(
        self, backend: DockerBackend, cid: str, limits: Limits, env: Mapping[str, str]
    ) -> None:
        self.backend = backend
        self.api = backend.client.api
        self.id = cid
        self.limits = limits
        self.env = dict(env)
        self.user = backend.user
        self.strict_dest = backend.native  # a foreign image keeps its own layout
        self._lock = threading.Lock()
        self._closed = False
        self._broken: str | None = None
        self._outside: str | None = None  # why it broke from outside (EngineUnavailable)
        self._oom_seen = 0

    # -- files in and out (TarFiles) ------------------------------------------------------

    def _copy_in(self, data: bytes, dest: str) -> None:
        """Into the top of a writable directory (it always exists): tar alone, without the
        shell and mkdir of the general case (two process starts fewer per copy)."""
        if not self.strict_dest or check_writable(dest) not in WRITABLE_DIRS:
            super()._copy_in(data, dest)
            return
        run = self._tar(
            ["tar", "-x", "-f", "-", "--no-same-owner", "-C", dest], data, 1 << 16, 1 << 20
        )
        if run.rc != 0:
            raise SandboxError(f"copy into {dest} failed: {run.why()}")

    def _tar(self, argv: list[str], stdin: bytes | None, cap: int, flood: int) -> TarRun:
        with self._lock, self._engine_failures():
            self._check_usable()
            if self.backend.native:
                out, err, info, _ = self._runner_call(
                    argv, {}, "/", COPY_TIMEOUT_S, cap, flood, stdin=stdin
                )
                rc = None if info is None else int(info["rc"])  # type: ignore[call-overload]
                too_big = out.truncated or bool(info and info.get("flooded"))
            else:
                outcome, rc = self._exec(
                    argv, self.user, {}, "/", stdin, COPY_TIMEOUT_S, cap, flood
                )
                out, err, too_big = (
                    outcome.stdout,
                    outcome.stderr,
                    outcome.stdout.truncated or outcome.flooded,
                )
        return TarRun(out, err, rc, too_big, self._broken)

    # -- running --------------------------------------------------------------------------

    def _run(self, req: RunRequest) -> ExecResult:
        with self._lock, self._engine_failures():
            if self._closed or self._broken:
                return broken(req, self._broken or "sandbox is closed")
            if self.backend.native and (req.user is None or req.user == USER):
                return self._run_via_runner(req)
            return self._run_via_exec(req, req.user or self.user)

    @contextmanager
    def _engine_failures(self) -> Iterator[None]:
        """EngineUnavailable, never a result, when the sandbox broke from outside (the
        engine went away or restarted): that is no outcome of the code in it."""
        try:
            yield
        except (docker.errors.APIError, requests.exceptions.RequestException, OSError) as e:
            if self._outside is None:
                self._outside = self.backend.lost_from_outside(self.id)
            if self._outside is None:
                raise SandboxError(f"the Docker engine failed: {_first_line(e)}") from e
        except SandboxError:
            if self._outside is None:
                raise
        if self._outside is not None:
            raise self.backend.engine_lost(self._outside)

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
        """See Sandbox.run_with_files: one request to the runner carries the files, the
        command and what to fetch; the files and the result come back in its one reply
        (sandbox/runner.py `put_files`, `fetch`). A foreign image has no runner: its steps
        go one after the other."""
        if not self.backend.native:
            return super().run_with_files(
                files, dest, cmd, fetch=fetch, timeout_s=timeout_s, workdir=workdir, env=env
            )
        dest = check_writable(dest)
        fetch = check_absolute(fetch, "run_with_files: fetch")
        names = [safe_relpath(name) for name in files]  # as pack_files checks them
        put = {
            "dest": dest,
            "files": [
                [name, len(data), file_mode(data)]
                for name, data in zip(names, files.values(), strict=True)
            ],
            "size": sum(len(data) for data in files.values()),
        }
        req = prepare_run(cmd, timeout_s, workdir, self.env, env, self.limits)
        got = FetchedFiles(self.limits.copy_out_cap_mb << 20, FETCH_FILES)
        with self._lock, self._engine_failures():
            self._check_usable()
            out, err, info, kill_sent = self._runner_call(
                req.argv,
                req.env,
                req.workdir,
                req.timeout,
                req.cap,
                req.flood,
                stdin=b"".join(files.values()),
                put=put,
                fetch={"path": fetch, "cap": got.cap, "files": got.most},
                fetched=got,
            )
            if info is not None and info.get("put_error"):
                raise SandboxError(f"copy into {dest} failed: {info['put_error']}")
            result = self._runner_result(req, out, err, info, kill_sent)
        return FilesRun(result, *fetched_files(fetch, info, got))

    def _run_via_runner(self, req: RunRequest) -> ExecResult:
        out, err, info, kill_sent = self._runner_call(
            req.argv, req.env, req.workdir, req.timeout, req.cap, req.flood, req.on_output
        )
        return self._runner_result(req, out, err, info, kill_sent)

    def _runner_result(
        self,
        req: RunRequest,
        out: CappedBuffer,
        err: CappedBuffer,
        info: dict[str, object] | None,
        kill_sent: bool,
    ) -> ExecResult:
        """The ExecResult of one runner call (see _runner_call)."""
        if info is None:  # no exit report: the sandbox is gone (see _runner_call)
            status, code = (
                (Status.timeout, TIMEOUT_CODE) if kill_sent else (Status.sandbox_error, BROKEN_CODE)
            )
            return exec_result(status, code, req.start, req.cap, out, err, f"\n{self._broken}")
        rc = int(info["rc"])  # type: ignore[call-overload]
        if info.get("killed"):
            note = "\n[dgm sandbox: the command outlived its deadline and was killed]\n"
            return exec_result(Status.timeout, TIMEOUT_CODE, req.start, req.cap, out, err, note)
        return finished(
            req,
            out,
            err,
            rc=rc,
            flooded=bool(info.get("flooded")),
            timed_out=bool(info.get("timed_out")),
            oom=lambda: bool(info.get("oom")),
        )

    def _run_via_exec(self, req: RunRequest, user: str) -> ExecResult:
        """A foreign image (or another user): one `docker exec` under the WRAPPER."""
        try:
            outcome, rc = self._exec(
                ["sh", "-c", WRAPPER, f"{req.timeout:.3f}", *req.argv],
                user,
                req.env,
                req.workdir,
                None,
                req.timeout + GRACE_S,
                req.cap,
                req.flood,
                req.on_output,
            )
        except SandboxError as e:
            return broken(req, str(e))
        if outcome.flooded:
            self._sweep()
        elif rc is None:  # the inner deadline did not kill it: the outer one removed the container
            self._break(
                f"command outlived its deadline of {req.timeout:.0f}s; the sandbox was removed"
            )
        timed_out = rc is not None and stopped_by_deadline(
            rc, time.monotonic() - req.start, req.timeout
        )
        return finished(
            req,
            outcome.stdout,
            outcome.stderr,
            rc=rc,
            flooded=outcome.flooded,
            timed_out=timed_out,
            oom=self._oom_increased,
        )

    def _runner_call(
        self,
        argv: list[str],
        env: Mapping[str, str],
        workdir: str,
        timeout: float,
        cap: int,
        flood: int,
        on_output: Callable[[str, bytes], None] | None = None,
        stdin: bytes | None = None,
        put: dict[str, object] | None = None,
        fetch: dict[str, object] | None = None,
        fetched: FetchedFiles | None = None,
    ) -> tuple[CappedBuffer, CappedBuffer, dict[str, object] | None, bool]:
        """One request to the runner: (stdout, stderr, its exit report or None, kill sent).

        Sends the request (and `stdin`) while reading replies, so neither side can block
        the other. Past timeout + grace it asks the runner to kill; 5 s later it gives up
        and removes the container. No report means the sandbox is now broken. With `put`
        (the files' list, see runner.py), `stdin` holds the files' contents instead, and
        with `fetch` the files sent back go to `fetched`."""
        out, err = capped_pair(cap, cap, on_output)
        runner_err = CappedBuffer(1 << 14)
        messages = MessageReader(out, err, fetched)
        frames = FrameReader(messages, runner_err)  # type: ignore[arg-type]
        request: dict[str, object] = {
            "argv": argv,
            "env": {**self.backend.base_env, **env},
            "cwd": workdir,
            "timeout": timeout,
            "cap": cap,
            "flood": flood,
        }
        if put is not None:
            request["put"] = put
        if fetch is not None:
            request["fetch"] = fetch
        if stdin is not None and put is None:
            request["stdin"] = len(stdin)
        elif self.backend.zygote is not None and argv[:1] == ["python3"]:
            request["zygote"] = self.backend.zygote
        to_send = memoryview(json.dumps(request).encode() + b"\n" + (stdin or b""))
        kill_sent = False
        try:
            sock = self._control_socket()
            sock.setblocking(False)
            copy_s = COPY_GRACE_S if put is not None or fetch is not None else 0.0
            deadline = time.monotonic() + timeout + GRACE_S + copy_s
            while messages.exit is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    if kill_sent or len(to_send):
                        break
                    to_send, kill_sent, deadline = (
                        memoryview(b'{"kill": true}\n'),
                        True,
                        time.monotonic() + 5.0,
                    )
                    continue
                readable, writable, _ = select.select(
                    [sock], [sock] if len(to_send) else [], [], min(left, 1.0)
                )
                if writable:
                    try:
                        to_send = to_send[sock.send(to_send[: 1 << 20]) :]
                    except BlockingIOError:
                        pass
                if readable:
                    try:
                        chunk = sock.recv(1 << 20)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        break
                    frames.feed(chunk)
        except (OSError, docker.errors.APIError, requests.exceptions.RequestException) as e:
            self._break(f"lost the sandbox's runner: {e}")
            return out, err, None, kill_sent
        except BaseException:
            # Interrupted mid-command (e.g. Ctrl-C): the runner's replies would now be out
            # of step with the next request, so this sandbox is finished.
            self._break("interrupted during a command; the sandbox was removed")
            raise
        info = messages.exit
        if info is None:
            why = (
                "the runner did not answer by the deadline" if kill_sent else "the runner went away"
            )
            self._break(
                f"{why}; the sandbox was removed {bytes(runner_err.data).decode(errors='replace')[-300:]}".strip()
            )
            return out, err, None, kill_sent
        out.seen, err.seen = int(info.get("seen_out") or 0), int(info.get("seen_err") or 0)  # type: ignore[call-overload]
        return out, err, info, kill_sent

    def _control_socket(self) -> socket.socket:
        return self.backend.control(self.id)

    def _oom_increased(self) -> bool:
        try:
            outcome, _ = self._exec(OOM_COUNTER, self.user, {}, "/", None, 30.0, 1 << 14, 1 << 16)
        except SandboxError:
            return False
        m = re.search(rb"oom_kill (\d+)", bytes(outcome.stdout.data))
        count = int(m.group(1)) if m else 0
        increased = count > self._oom_seen
        self._oom_seen = count
        return increased

    def _sweep(self) -> None:
        try:
            self._exec(SWEEP, self.user, {}, "/", None, 30.0, 1 << 14, 1 << 16)
        except SandboxError as e:
            self._break(f"could not stop a flooding command: {e}")

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            # Closed from another thread mid-command: the runner is busy, so it goes.
            idle = self._lock.acquire(blocking=False)
            try:
                if self._broken or not idle:
                    self.backend.pool.discard(self.id)
                else:  # recycled when the backend recycles, else removed
                    self.backend.pool.give_back(self.id)
            finally:
                if idle:
                    self._lock.release()

    def _check_usable(self) -> None:
        if self._closed:
            raise SandboxError("sandbox is closed")
        if self._broken:
            raise SandboxError(self._broken)

    def _break(self, why: str) -> None:
        if self._outside is None and not self._closed:  # asked before the container goes
            self._outside = self.backend.lost_from_outside(self.id)
        self._broken = why
        try:
            self.api.remove_container(self.id, force=True)
        except docker.errors.APIError:
            pass

    def _exec(
        self,
        cmd: list[str],
        user: str,
        env: Mapping[str, str],
        workdir: str | None,
        stdin: bytes | None,
        limit_s: float,
        cap: int,
        flood: int,
        on_output: Callable[[str, bytes], None] | None = None,
    ) -> tuple[StreamOutcome, int | None]:
        """Run one exec; (outcome, exit code) or exit code None when `limit_s` ran out
        (the container is then removed: nothing is left running)."""
        environment = {**self.backend.base_env, **env}
        deadline = time.monotonic() + limit_s
        try:
            ex = self.api.exec_create(
                self.id,
                cmd,
                stdout=True,
                stderr=True,
                stdin=stdin is not None,
                user=user,
                environment=environment,
                workdir=workdir,
            )
            sock = self.api.exec_start(ex["Id"], socket=True)
        except (docker.errors.APIError, requests.exceptions.RequestException) as e:
            if self._outside is None:
                self._outside = self.backend.lost_from_outside(self.id)
            raise SandboxError(f"docker exec failed: {_first_line(e)}") from e
        raw: socket.socket = getattr(sock, "_sock", sock)
        try:
            outcome = pump(raw, stdin, deadline, cap, cap, flood, on_output)
        except OSError as e:
            raise SandboxError(f"lost the exec stream: {e}") from e
        finally:
            try:
                sock.close()
                raw.close()
            except OSError:
                pass
        if not outcome.finished and not outcome.flooded:
            self._break(f"exec outlived its deadline of {limit_s:.0f}s; the sandbox was removed")
            return outcome, None
        if outcome.flooded:
            return outcome, None
        return outcome, self._exit_code(ex["Id"])

    def _exit_code(self, exec_id: str) -> int:
        for _ in range(200):
            info = self.api.exec_inspect(exec_id)
            if not info.get("Running") and info.get("ExitCode") is not None:
                return int(info["ExitCode"])
            time.sleep(0.01)
        raise SandboxError("exec did not report an exit code")


def fetched_files(
    path: str, info: dict[str, object] | None, got: FetchedFiles
) -> tuple[dict[str, bytes], str]:
    """(files, why none came back) of a `run_with_files` from its runner's report."""
    if info is None:
        return {}, "the sandbox broke during the command"
    why = got.over or str(info.get("fetch_error") or "")
    if not why and not info.get("fetched"):
        why = "the command did not run"
    if why:
        return {}, f"copy out of {path} failed: {why}"
    try:
        return {safe_relpath(name): bytes(data) for name, data in got.files.items()}, ""
    except SandboxError as e:
        return {}, str(e)


def zygote_request(preload: tuple[str, ...]) -> dict[str, object] | None:
    """The runner's "zygote" field for `python3` commands (sandbox/runner.py), or None."""
    if not preload:
        return None
    return {"source": ZYGOTE_SOURCE, "preload": list(preload)}


def _first_line(e: BaseException) -> str:
    return (str(e).splitlines() or [type(e).__name__])[0][:300]

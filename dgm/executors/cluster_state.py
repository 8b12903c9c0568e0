"""A Ray cluster of several nodes on this machine, to try the ray executor on one host:
a head that runs no sandbox, and N workers, each its own raylet advertising
`dgm_sandbox` slots. `dgm cluster up/down`, the tests and the benchmark use it.

Stopping acts only on what it can prove it started, whatever `.dgm/cluster.json` says
(a hand-edited or stale file must never end another user's process or delete their
folder): every process of the cluster carries a random token in its environment (set on
`ray start`, inherited by everything Ray spawns), and the temp directory holds a marker
file with that token. A process without the token, a folder without the marker, is left
alone.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dgm.errors import UserError
from dgm.executors.protocol import SANDBOX_RESOURCE

STATE_FILE = Path(".dgm") / "cluster.json"
OBJECT_STORE_MB = 80  # jobs pass code and results, never big arrays: keep each node small
START_TIMEOUT_S = 120.0
TOKEN_ENV = "DGM_CLUSTER_TOKEN"  # in the environment of every process of the cluster
MARKER = "dgm-cluster-token"  # in the temp directory `start_head` created


@dataclass
class ClusterState:
    address: str
    temp_dir: str
    workers: list[str] = field(default_factory=list)  # node ids, in start order
    token: str = ""  # proves a process or folder is this cluster's (module docstring)

    def save(self, path: Path = STATE_FILE) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=1))


def read_state(path: Path = STATE_FILE) -> ClusterState | None:
    try:
        state = ClusterState(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    texts = [state.address, state.temp_dir, state.token]
    if not isinstance(state.workers, list) or not all(isinstance(t, str) for t in texts):
        return None
    return state


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ray_cli() -> list[str]:
    here = Path(sys.executable).with_name("ray")
    found = str(here) if here.exists() else shutil.which("ray")
    if found is None:
        raise UserError("the `ray` command is missing: install dgm with the ray extra (dgm[ray])")
    return [found]


def _ray_start(
    args: list[str], env: dict[str, str] | None, token: str, prefix: Sequence[str] = ()
) -> None:
    head_only = ["--include-dashboard=false"] if "--head" in args else []
    cmd = [*prefix, *ray_cli(), "start", *args, *head_only, "--disable-usage-stats"]
    full_env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", **(env or {}), TOKEN_ENV: token}
    done = subprocess.run(
        cmd, env=full_env, capture_output=True, text=True, timeout=START_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"`ray start` failed: {tail[0][:300]}")


def _node_args(
    cpus: float, sandboxes: int, memory_mb: int | None, node_ip: str | None = None
) -> list[str]:
    args = [
        f"--num-cpus={cpus:g}",
        f"--object-store-memory={OBJECT_STORE_MB * 1024 * 1024}",
        f"--dashboard-agent-listen-port={free_port()}",
    ]
    if node_ip is not None:
        args.append(f"--node-ip-address={node_ip}")
    if sandboxes:
        args.append(f"--resources={json.dumps({SANDBOX_RESOURCE: sandboxes})}")
    if memory_mb is not None:
        args.append(f"--memory={memory_mb * 1024 * 1024}")
    return args


def start_head(env: dict[str, str] | None = None, node_ip: str | None = None) -> ClusterState:
    """A head node that runs no job (0 CPUs, no sandbox): the GCS the driver connects to.
    Its temp directory is always a fresh one of ours, marked with the cluster's token.
    `node_ip`: the address it serves on (default: this host's, as Ray picks it)."""
    temp = Path(tempfile.mkdtemp(prefix="dgm-ray-"))
    token = secrets.token_hex(16)
    (temp / MARKER).write_text(token)
    port = free_port()
    _ray_start(
        [
            "--head",
            f"--port={port}",
            f"--temp-dir={temp}",
            *_node_args(0, 0, None, node_ip),
        ],
        env,
        token,
    )
    host = node_ip or _host_ip()
    return ClusterState(address=f"{host}:{port}", temp_dir=str(temp), token=token)


def add_worker(
    state: ClusterState,
    cpus: float = 2,
    sandboxes: int = 2,
    memory_mb: int | None = None,
    env: dict[str, str] | None = None,
    node_ip: str | None = None,
    prefix: Sequence[str] = (),
) -> str:
    """Start one more raylet joined to `state`'s head; returns its node id. `prefix`: a
    command `ray start` runs under (`ip netns exec NS`: a host of its own on this machine)."""
    before = set(node_ids(state))
    _ray_start(
        [f"--address={state.address}", *_node_args(cpus, sandboxes, memory_mb, node_ip)],
        env,
        state.token,
        prefix,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        new = [n for n in node_ids(state) if n not in before]
        if new:
            state.workers.append(new[0])
            return new[0]
        time.sleep(0.2)
    raise UserError("a Ray worker node started but never joined the head")


def start_cluster(
    workers: int, cpus: float = 2, sandboxes: int = 2, env: dict[str, str] | None = None
) -> ClusterState:
    state = start_head(env=env)
    try:
        for _ in range(workers):
            add_worker(state, cpus=cpus, sandboxes=sandboxes, env=env)
    except BaseException:
        stop_cluster(state)
        raise
    return state


def processes(state: ClusterState) -> dict[int, str]:
    """pid -> command line of every process of this cluster: those whose environment holds
    its token, and their descendants. None without a token (an old or edited state file)."""
    if len(state.token) < 16:
        return {}
    mark = f"{TOKEN_ENV}={state.token}".encode()
    table: dict[int, tuple[int, str]] = {}
    found: dict[int, str] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            ppid = parent_pid(int(proc.name))
            environ = (proc / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        table[int(proc.name)] = (ppid, cmd)
        if mark in environ:
            found[int(proc.name)] = cmd
    grew = True
    while grew:
        children = {p: c for p, (pp, c) in table.items() if pp in found and p not in found}
        found.update(children)
        grew = bool(children)
    return found


def parent_pid(pid: int) -> int:
    """The parent of process `pid`, from /proc (OSError when it is gone). The command name
    in its stat line is in parentheses and may hold spaces or ")": split after the last one."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def check_owned(state: ClusterState) -> None:
    """Refuse a state whose temp directory `start_head` did not create (no marker holding
    the token): the file may be stale, hand-edited or another tool's."""
    temp = Path(state.temp_dir)
    marker = temp / MARKER
    if not state.temp_dir or not temp.is_absolute() or temp.is_symlink() or not state.token:
        raise UserError(
            f"{STATE_FILE} does not describe a cluster `dgm cluster up` started "
            f"(temp_dir {state.temp_dir!r}, no token): nothing stopped; stop that Ray yourself "
            "(`ray stop`) and delete the file"
        )
    try:
        ours = marker.is_file() and not marker.is_symlink() and marker.read_text() == state.token
    except (OSError, UnicodeDecodeError):
        ours = False
    if not ours:
        raise UserError(
            f"{state.temp_dir} was not created by `dgm cluster up` (no marker with the token "
            f"of {STATE_FILE}): nothing stopped or deleted; if that cluster is gone, delete the file"
        )


def raylet_pid(state: ClusterState, node_id: str) -> int | None:
    for pid, cmd in processes(state).items():
        if "/raylet " in cmd and f"--node_id={node_id}" in cmd:
            return pid
    return None


def node_ids(state: ClusterState) -> list[str]:
    """The node ids of the live raylets of this cluster, head first."""
    ids = []
    for cmd in processes(state).values():
        if "/raylet " in cmd:
            ids += [a.split("=", 1)[1] for a in cmd.split() if a.startswith("--node_id=")]
    return ids


def stop_cluster(state: ClusterState, grace_s: float = 5.0) -> int:
    """End every process of the cluster (SIGTERM, then SIGKILL) and remove its temp
    directory; how many processes there were. Refuses what is not provably its own."""
    check_owned(state)
    pids = list(processes(state))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.1)
    shutil.rmtree(state.temp_dir, ignore_errors=True)
    return len(pids)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _host_ip() -> str:
    """The address other nodes reach this host at (what Ray itself would pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"

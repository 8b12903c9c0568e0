"""A Ray cluster of several nodes on this machine, to try the ray executor on one host:
a head that runs no sandbox, and N workers, each its own raylet advertising
`dgm_sandbox` slots. `dgm cluster up/down`, the tests and the benchmark use it.

Its processes are found by the cluster's own temp directory (on their command lines), so
stopping it ends those processes by pid and no other Ray on the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dgm.errors import UserError
from dgm.executors.protocol import SANDBOX_RESOURCE

STATE_FILE = Path(".dgm") / "cluster.json"
OBJECT_STORE_MB = 80  # jobs pass code and results, never big arrays: keep each node small
START_TIMEOUT_S = 120.0


@dataclass
class ClusterState:
    address: str
    temp_dir: str
    workers: list[str] = field(default_factory=list)  # node ids, in start order

    def save(self, path: Path = STATE_FILE) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=1))


def read_state(path: Path = STATE_FILE) -> ClusterState | None:
    try:
        return ClusterState(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


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


def _ray_start(args: list[str], env: dict[str, str] | None) -> None:
    head_only = ["--include-dashboard=false"] if "--head" in args else []
    cmd = [*ray_cli(), "start", *args, *head_only, "--disable-usage-stats"]
    full_env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", **(env or {})}
    done = subprocess.run(
        cmd, env=full_env, capture_output=True, text=True, timeout=START_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"`ray start` failed: {tail[0][:300]}")


def _node_args(cpus: float, sandboxes: int, memory_mb: int | None) -> list[str]:
    args = [
        f"--num-cpus={cpus:g}",
        f"--object-store-memory={OBJECT_STORE_MB * 1024 * 1024}",
        f"--dashboard-agent-listen-port={free_port()}",
    ]
    if sandboxes:
        args.append(f"--resources={json.dumps({SANDBOX_RESOURCE: sandboxes})}")
    if memory_mb is not None:
        args.append(f"--memory={memory_mb * 1024 * 1024}")
    return args


def start_head(temp_dir: Path | None = None, env: dict[str, str] | None = None) -> ClusterState:
    """A head node that runs no job (0 CPUs, no sandbox): the GCS the driver connects to."""
    temp = temp_dir or Path(tempfile.mkdtemp(prefix="dgm-ray-"))
    port = free_port()
    _ray_start(
        [
            "--head",
            f"--port={port}",
            f"--temp-dir={temp}",
            *_node_args(0, 0, None),
        ],
        env,
    )
    return ClusterState(address=f"{_host_ip()}:{port}", temp_dir=str(temp))


def add_worker(
    state: ClusterState,
    cpus: float = 2,
    sandboxes: int = 2,
    memory_mb: int | None = None,
    env: dict[str, str] | None = None,
) -> str:
    """Start one more raylet joined to `state`'s head; returns its node id."""
    before = set(node_ids(state))
    _ray_start([f"--address={state.address}", *_node_args(cpus, sandboxes, memory_mb)], env)
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
    """pid -> command line of every process of this cluster: those naming its temp dir,
    and their descendants (agents and workers rename themselves `ray::...`)."""
    table: dict[int, tuple[int, str]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        table[int(proc.name)] = (ppid, cmd)
    found = {pid: cmd for pid, (_, cmd) in table.items() if state.temp_dir in cmd}
    grew = True
    while grew:
        children = {p: c for p, (pp, c) in table.items() if pp in found and p not in found}
        found.update(children)
        grew = bool(children)
    return found


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
    """End every process of the cluster (SIGTERM, then SIGKILL); how many there were."""
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

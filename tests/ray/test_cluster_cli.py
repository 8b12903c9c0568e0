"""`dgm cluster up / status / down` with real `ray start` processes: a cluster of its own
(not the session's), checked through Ray's own node table, then gone without a trace."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dgm.executors.cluster_state import parent_pid, processes, read_state, stop_cluster
from tests.engine.test_cli_run import DGM

pytestmark = [pytest.mark.ray, pytest.mark.timeout(150)]


def dgm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DGM), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_up_status_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    decoy = None
    up = dgm("cluster", "up", "--workers", "2", "--cpus", "1", "--sandboxes", "3", cwd=tmp_path)
    state = read_state(tmp_path / ".dgm" / "cluster.json")
    try:
        assert up.returncode == 0, up.stderr
        assert state is not None and len(state.workers) == 2
        assert f"cluster up at {state.address}: 2 worker node(s)" in up.stdout
        status = dgm("cluster", "status", cwd=tmp_path)
        assert status.returncode == 0, status.stderr
        assert f"cluster at {state.address}: 3 live raylet(s)" in status.stdout

        monkeypatch.setenv("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
        ray.init(address=state.address, log_to_driver=False)
        try:
            nodes = {n["NodeID"]: n["Resources"] for n in ray.nodes() if n["Alive"]}
        finally:
            ray.shutdown()
        assert len(nodes) == 3 and set(state.workers) < set(nodes)
        for worker in state.workers:
            assert nodes[worker]["CPU"] == 1 and nodes[worker]["dgm_sandbox"] == 3
        (head,) = set(nodes) - set(state.workers)
        assert "CPU" not in nodes[head] and "dgm_sandbox" not in nodes[head], "the head runs none"

        # a process of someone else's that names the cluster's folder: never touched
        decoy = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(600)", state.temp_dir]
        )
        down = dgm("cluster", "down", cwd=tmp_path)
        assert down.returncode == 0, down.stderr
        assert f"cluster at {state.address} stopped" in down.stdout
        assert processes(state) == {}, "no process of that cluster (raylets included) is left"
        naming = [pid for pid, cmd in command_lines().items() if state.temp_dir in cmd]
        assert naming == [decoy.pid], "every Ray process carried the token; the decoy lives"
        assert not Path(state.temp_dir).exists()
        assert not (tmp_path / ".dgm" / "cluster.json").exists()
    finally:
        if decoy is not None:
            decoy.kill()
            decoy.wait()
        if state is not None and processes(state):
            stop_cluster(state)


def command_lines() -> dict[int, str]:
    out = {}
    for proc in Path("/proc").iterdir():
        try:
            out[int(proc.name)] = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (ValueError, OSError, UnicodeDecodeError):
            continue
    return out


def test_parent_pid_of_a_process_whose_name_holds_parentheses(tmp_path: Path) -> None:
    """/proc's stat line puts the command name in parentheses; a name with ") " in it must
    not shift the fields (`dgm cluster down` walks the cluster's process tree with it)."""
    sleep = shutil.which("sleep")
    assert sleep is not None
    odd = tmp_path / "x) 7 8 (y"
    shutil.copy(sleep, odd)
    child = subprocess.Popen([str(odd), "30"])
    try:
        assert parent_pid(child.pid) == os.getpid()
        assert parent_pid(os.getpid()) == os.getppid()
    finally:
        child.kill()
        child.wait()

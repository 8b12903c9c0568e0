"""`dgm run --executor ray` on a real cluster (tests/ray/conftest.py: a head and two
worker raylets), with a real PostgreSQL archive, real Docker sandboxes and the scripted
model of tests/engine/test_cli_run.py served through the gateway and each node's relay.

The seed agent is handicapped (it resolves nothing); the diff operator's child is not
(it resolves the four tasks), so the scores say the evaluations really ran."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import docker
import pytest

from archive import Archive, open_archive
from dgm.errors import UserError
from dgm.executors import Resources
from dgm.executors.cluster_state import ClusterState, parent_pid, raylet_pid
from dgm.executors.ray_executor import check_nodes
from tests.engine.test_cli_run import TEST_TASKS, write_setup
from tests.processes import DGM, Deadline, dgm_process, wait_for_archive
from tests.ray.runs import evaluations, ray_run, run_sandboxes, run_to_end

pytestmark = [
    pytest.mark.ray,
    pytest.mark.docker,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.timeout(240),
]
N = len(TEST_TASKS)


def assert_complete(archive: Archive, run_id: str, agents: int) -> list[tuple]:
    evals = evaluations(archive, run_id)
    keys = [e[:3] for e in evals]
    assert len(keys) == len(set(keys)), "each (agent, task, attempt) is in the archive once"
    assert len(keys) == agents * N
    assert [a.score for a in archive.agents(run_id)] == [0.0] + [1.0] * (agents - 1)
    assert archive.run(run_id).status == "finished"
    assert run_sandboxes(run_id) == [], "the sweep leaves no sandbox of the run on any node"
    return evals


def test_evaluations_land_on_both_worker_nodes(
    ray_cluster: ClusterState, postgres_url: str, tmp_path: Path
) -> None:
    """And the self-modification (the parent fixing its own code) runs on a node too,
    its LLM calls relayed to the driver's gateway."""
    # Seed 5 draws a special case to learn from (the seed agent leaves only empty patches,
    # which DGM's unresolved pool leaves out), as in test_cli_run's self-modification.
    config = write_setup(tmp_path, iterations=1, workers=4, operator="self_modify", seed=5)
    archive, run = run_to_end(config, ray_cluster, postgres_url, tmp_path)
    failed = [e.payload for e in archive.events(run.id, kinds=["expansion_failed"])]
    assert len(archive.agents(run.id)) == 2, failed
    evals = assert_complete(archive, run.id, agents=2)
    assert {node for *_, node in evals} == set(ray_cluster.workers), "both workers, never the head"
    seed, child = archive.agents(run.id)
    assert child.operator == "self_modify"
    assert 'return "error: editing is disabled"' in archive.diff(child.id)
    purposes = Counter(c.purpose for c in archive.llm_calls(run.id, bodies=False))
    assert purposes["diagnose"] == 1 and purposes["self_modify"] == 2  # bash, then "Done."
    assert purposes["agent"] >= 2 * N
    per_node = {n: sum(1 for *_, node in evals if node == n) for n in ray_cluster.workers}
    assert archive.evaluation_nodes(run.id) == per_node
    listed = subprocess.run(
        [str(DGM), "runs", "--json", "--archive", postgres_url], capture_output=True, text=True
    )
    assert json.loads(listed.stdout)[0]["nodes"] == per_node  # what `dgm runs` shows


def test_errors_before_any_work(
    ray_cluster: ClusterState, postgres_url: str, tmp_path: Path
) -> None:
    config = write_setup(tmp_path, iterations=1, workers=1)
    down = ClusterState(address="127.0.0.1:1", temp_dir="")
    proc = subprocess.run(
        [str(DGM), *ray_run(config, down, postgres_url)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no Ray cluster answers" in proc.stderr
    big = tmp_path / "big.yaml"
    big.write_text(config.read_text() + "agent_limits: {cpus: 64}\n")
    proc = subprocess.run(
        [str(DGM), *ray_run(big, ray_cluster, postgres_url)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "no sandboxing node has 64 CPUs" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_cluster_checks_on_its_real_nodes(
    ray_cluster: ClusterState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a cluster of several hosts, or one that cannot sandbox, would be refused for:
    the checks run on the cluster's own node table, with one fact changed each time."""
    import ray

    monkeypatch.setenv("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")  # no GPUs: no warning
    ray.init(address=ray_cluster.address, log_to_driver=False)
    try:
        nodes = [n for n in ray.nodes() if n["Alive"]]
    finally:
        ray.shutdown()
    need = Resources(cpus=1, memory_mb=1024)
    check_nodes(nodes, need, "sqlite:///here.db")  # one host: SQLite is fine
    two_hosts = [dict(nodes[0], NodeManagerAddress="10.9.9.9"), *nodes[1:]]
    check_nodes(two_hosts, need, "postgresql+psycopg://db/dgm")
    with pytest.raises(UserError, match="spans 2 hosts but the archive is SQLite"):
        check_nodes(two_hosts, need, "sqlite:///here.db")
    unsandboxed = [
        dict(n, Resources={k: v for k, v in n["Resources"].items() if k != "dgm_sandbox"})
        for n in nodes
    ]
    with pytest.raises(UserError, match="no node of the Ray cluster can sandbox"):
        check_nodes(unsandboxed, need, "sqlite:///here.db")


def test_cluster_commands_without_a_cluster_say_what_to_do(tmp_path: Path) -> None:
    for command in ("down", "status"):
        proc = subprocess.run(
            [str(DGM), "cluster", command], cwd=tmp_path, capture_output=True, text=True
        )
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
        assert "no cluster was started here" in proc.stderr


def recorded(archive: Archive) -> int:
    """Evaluations recorded in the archive's run so far."""
    runs = archive.runs()
    return len(evaluations(archive, runs[0].id)) if runs else 0


def test_resume_after_kill_9_of_the_driver(
    ray_cluster: ClusterState, postgres_url: str, tmp_path: Path, deadline: Deadline
) -> None:
    config = write_setup(tmp_path, iterations=2, workers=2)
    with dgm_process(ray_run(config, ray_cluster, postgres_url), tmp_path) as proc:
        wait_for_archive(
            postgres_url,
            lambda a: recorded(a) >= N + 1,
            "the child's evaluation began",
            proc,
            deadline,
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    archive = open_archive(postgres_url, create=False)
    (run,) = archive.runs()
    before = {e[:3]: e for e in evaluations(archive, run.id)}
    assert N < len(before) < 3 * N, "killed mid-run"
    resumed = subprocess.run(
        [str(DGM), *ray_run(tmp_path / "none", ray_cluster, postgres_url, "--resume", run.id[:8])],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    evals = assert_complete(archive, run.id, agents=3)
    assert {e[:3]: e for e in evals if e[:3] in before} == before, "nothing recorded is lost"


def test_a_worker_node_lost_mid_evaluation_is_retried_elsewhere(
    ray_cluster: ClusterState, postgres_url: str, tmp_path: Path, deadline: Deadline
) -> None:
    """Runs last (tests/ray/conftest.py): it kills one of the session cluster's workers.

    The victim node is lost while a job runs in one of its sandboxes (a process besides the
    runner): its raylet and every worker process under it are frozen at once, what the node
    sent before has time to be recorded, and then they are killed. A job is recorded by the
    node it ran on, and a frozen node sends nothing more, so every evaluation recorded after
    the freeze, the jobs in flight among them, must be the survivor's. (Killing the raylet
    alone is not losing the node: its workers live on for a moment and may still hand a
    finished job to the driver, rightly recorded as the victim's.)"""
    victim = ray_cluster.workers[-1]
    raylet = raylet_pid(ray_cluster, victim)
    assert raylet is not None
    config = write_setup(tmp_path, iterations=1, workers=4)
    with dgm_process(ray_run(config, ray_cluster, postgres_url), tmp_path) as proc:
        busy = wait_for_archive(
            postgres_url,
            lambda _: busy_victim_sandboxes(raylet),
            "a job running in a sandbox of the victim node",
            proc,
            deadline,
        )
        node = node_processes(raylet)
        signal_all(node, signal.SIGSTOP)
        time.sleep(3)  # a result the victim sent before it froze is recorded by now
        with open_archive(postgres_url, create=False) as archive:
            (run,) = archive.runs()
            before_kill = {e[:3] for e in evaluations(archive, run.id)}
        signal_all(node, signal.SIGKILL)
        out, err = proc.communicate(timeout=deadline.left(20))
    assert proc.returncode == 0, err
    archive = open_archive(postgres_url, create=False)
    evals = assert_complete(archive, run.id, agents=2)
    after_kill = [e for e in evals if e[:3] not in before_kill]
    assert len(after_kill) >= busy, "the jobs in flight on the victim were recorded"
    assert all(node != victim for *_, node in after_kill), (
        "the victim node recorded an evaluation after it froze",
        victim,
        after_kill,
    )


def node_processes(raylet: int) -> list[int]:
    """The raylet and every process under it (the node's workers and theirs)."""
    parents: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit():
                parents[int(proc.name)] = parent_pid(int(proc.name))
        except (OSError, ValueError):
            continue
    node = [raylet]
    for pid in node:
        node += [child for child, parent in parents.items() if parent == pid]
    return node


def signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # a short-lived helper that ended
            os.kill(pid, sig)


def owned_by(container: dict, raylet: int) -> bool:
    """The sandbox's owner is a worker process of that raylet (its child)."""
    owner = (container.get("Labels") or {}).get("dgm.owner", "")
    pid = owner.split(":")[1] if owner.count(":") >= 2 else ""
    try:
        return parent_pid(int(pid)) == raylet
    except (OSError, ValueError):
        return False


def busy_victim_sandboxes(raylet: int) -> int:
    """Sandboxes of the victim node running a command: more processes than the runner."""
    client = docker.from_env()
    busy = 0
    for c in client.api.containers(filters={"label": "dgm.sandbox"}):
        if owned_by(c, raylet):
            try:
                busy += len(client.api.top(c["Id"]).get("Processes") or []) > 1
            except docker.errors.APIError:  # removed meanwhile
                continue
    return busy

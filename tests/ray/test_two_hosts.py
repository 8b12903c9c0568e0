"""A cluster across two hosts, and the faults it survives (docs/cluster.md, Faults).

The hosts are network namespaces of this machine (tests/ray/hosts.py): the head host with
the Ray head, the driver, its gateway hub and a PostgreSQL server of the test's own; the
worker host, a namespace whose only link is a veth pair to the head, with a raylet that
runs every sandboxed job. Each fault is injected while a run is in flight; each test ends
with the run finished (resumed if it stopped, from either host) and every (agent, task,
attempt) evaluated exactly once, nothing recorded before the fault lost or changed.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from archive import open_archive
from dgm.executors.cluster_state import (
    ClusterState,
    add_worker,
    raylet_pid,
    start_head,
    stop_cluster,
)
from dgm.executors.ray_executor import POLL_S
from tests.conftest import missing
from tests.engine.test_cli_run import TEST_TASKS, write_setup
from tests.processes import DGM, Deadline, dgm_process, wait_for_archive
from tests.ray.conftest import FAST_DEATH
from tests.ray.hosts import Link, Postgres, create_database, two_hosts, wait_until
from tests.ray.runs import evaluations, ray_run
from tests.ray.test_cluster_run import assert_complete, busy_victim_sandboxes, recorded

pytestmark = [
    pytest.mark.ray,
    pytest.mark.docker,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.timeout(300),
]
N = len(TEST_TASKS)


@dataclass
class Hosts:
    link: Link
    postgres: Postgres
    cluster: ClusterState

    @property
    def worker(self) -> str:
        """The node id of the worker host's raylet (the newest, after a restart)."""
        return self.cluster.workers[-1]

    def start_worker(self) -> str:
        return add_worker(
            self.cluster,
            cpus=2,
            sandboxes=2,
            memory_mb=6144,
            env=FAST_DEATH,
            node_ip=self.link.worker_ip,
            prefix=self.link.on_worker,
        )


@pytest.fixture(scope="module")
def hosts() -> Iterator[Hosts]:
    try:
        import ray  # noqa: F401
    except ImportError as e:
        missing("ray", f"{e}: install the ray extra (dgm[ray])")
    with two_hosts() as link:
        postgres = Postgres(link.head_ip)
        try:
            cluster = start_head(env=FAST_DEATH, node_ip=link.head_ip)
            try:
                on = Hosts(link, postgres, cluster)
                on.start_worker()
                yield on
            finally:
                stop_cluster(cluster)
        finally:
            postgres.stop()


@pytest.fixture(autouse=True)
def stacks_on_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every driver started here prints its threads' stacks on SIGABRT (`finished`)."""
    monkeypatch.setenv("PYTHONFAULTHANDLER", "1")


@pytest.fixture
def archive_url(hosts: Hosts) -> str:
    """A fresh database on the head host's PostgreSQL, reached over the link."""
    return create_database(hosts.postgres.url, "dgm_test_" + secrets.token_hex(6))


def dgm(args: list[str], cwd: Path, prefix: list[str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*(prefix or []), str(DGM), *args], cwd=cwd, capture_output=True, text=True, timeout=180
    )


def relays_on(link: Link) -> list[int]:
    """The gateway relay processes on the worker host."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            if proc.name.isdigit() and b"dgm.llm.relay" in cmd:
                if os.stat(proc / "ns" / "net").st_ino == link.worker_netns_inode():
                    found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_a_run_on_the_worker_host_with_its_gateway_relay_killed(
    hosts: Hosts, archive_url: str, tmp_path: Path, deadline: Deadline
) -> None:
    """Every evaluation runs on the worker host (its raylet in the worker's namespace, its
    node id recorded). The jobs whose relay died are the machinery's failure: run again
    with a new relay, never recorded as the agent's (the child resolves every task: a job
    scored on its failed LLM calls would leave it below 1.0)."""
    raylet = raylet_pid(hosts.cluster, hosts.worker)
    assert raylet is not None
    assert os.stat(f"/proc/{raylet}/ns/net").st_ino == hosts.link.worker_netns_inode(), (
        "the worker's raylet runs on the worker host"
    )
    config = write_setup(tmp_path, iterations=1, workers=2)
    with dgm_process(ray_run(config, hosts.cluster, archive_url), tmp_path) as proc:
        killed = wait_for_archive(
            archive_url,
            lambda a: recorded(a) >= N and busy_victim_sandboxes(raylet) and relays_on(hosts.link),
            "the child's job running on the worker host",
            proc,
            deadline,
        )
        for pid in relays_on(hosts.link):
            os.kill(pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=deadline.left(20))
    assert proc.returncode == 0, err
    assert killed and "gateway relay" in err and "died during the job" in err, err
    archive = open_archive(archive_url, create=False)
    (run,) = archive.runs()
    evals = assert_complete(archive, run.id, agents=2)
    assert {node for *_, node in evals} == {hosts.worker}
    assert archive.evaluation_nodes(run.id) == {hosts.worker: 2 * N}
    assert all(e.error_kind is None for a in archive.agents(run.id)[1:]
               for e in archive.evaluations(a.id))  # fmt: skip


def test_driver_killed_9_and_resumed_on_the_worker_host(
    hosts: Hosts, archive_url: str, tmp_path: Path, deadline: Deadline
) -> None:
    config = write_setup(tmp_path, iterations=2, workers=2)
    with dgm_process(ray_run(config, hosts.cluster, archive_url), tmp_path) as proc:
        wait_for_archive(
            archive_url, lambda a: recorded(a) >= N + 1, "the child's evaluation began", proc,
            deadline,
        )  # fmt: skip
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    archive = open_archive(archive_url, create=False)
    (run,) = archive.runs()
    before = {e[:3]: e for e in evaluations(archive, run.id)}
    assert N < len(before) < 3 * N, "killed mid-run"
    resume = ray_run(tmp_path / "none", hosts.cluster, archive_url, "--resume", run.id[:8])
    resumed = dgm(resume, tmp_path, prefix=hosts.link.on_worker)
    assert resumed.returncode == 0, resumed.stderr
    evals = assert_complete(archive, run.id, agents=3)
    assert {e[:3]: e for e in evals if e[:3] in before} == before, "nothing recorded is lost"


def finished(proc: subprocess.Popen[str], deadline: Deadline, cluster: ClusterState) -> str:
    """The driver's stderr once it exited. One that does not exit in the test's time is
    stopped with SIGABRT (faulthandler prints every thread's stack) and the test fails with
    those stacks and the tail of its Ray core worker's log: what it waited on."""
    try:
        return proc.communicate(timeout=deadline.left(20))[1]
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        err = proc.communicate(timeout=30)[1]
        logs = sorted(
            Path(cluster.temp_dir).glob(f"session_*/logs/python-core-driver-*_{proc.pid}.log")
        )
        core = logs[-1].read_text(errors="replace")[-6000:] if logs else "(no core worker log)"
        raise AssertionError(f"the driver did not exit: {err[-20000:]}\n---\n{core}") from None


def declared_dead(cluster: ClusterState, node_id: str) -> bool:
    """Whether the head's node table (its GCS) has `node_id` dead."""
    from ray._raylet import GcsClient  # type: ignore[attr-defined]
    from ray.core.generated import gcs_pb2

    infos = GcsClient(address=cluster.address).get_all_node_info(timeout=5).values()
    dead = gcs_pb2.GcsNodeInfo.GcsNodeState.DEAD  # type: ignore[attr-defined]
    return any(i.node_id.hex() == node_id and i.state == dead for i in infos)


def test_worker_link_down_past_the_node_timeout_then_back(
    hosts: Hosts, archive_url: str, tmp_path: Path, deadline: Deadline
) -> None:
    """The head declares the worker host dead while the child's jobs run there. The driver
    gives those jobs up at once (it never waits on a dead node: ray_executor.NodeLost) and
    submits them again; they wait for a node that can sandbox. When the link is back, the
    old raylet learns it was declared dead and exits, the host starts a new one (as a
    service manager would), and the jobs run there. Every (agent, task, attempt) is
    recorded once, none of them by the lost node after it was declared dead."""
    lost = hosts.worker
    raylet = raylet_pid(hosts.cluster, lost)
    assert raylet is not None
    config = write_setup(tmp_path, iterations=1, workers=2)
    with dgm_process(ray_run(config, hosts.cluster, archive_url), tmp_path) as proc:
        wait_for_archive(
            archive_url, lambda a: recorded(a) >= N and busy_victim_sandboxes(raylet),
            "the child's job running on the worker host", proc, deadline,
        )  # fmt: skip
        hosts.link.down()
        try:
            wait_until(
                "the head to declare the worker dead",
                lambda: declared_dead(hosts.cluster, lost),
                60,
            )
            time.sleep(3 * POLL_S)  # the driver asks every POLL_S: it has seen the death
            with open_archive(archive_url, create=False) as archive:
                (run,) = archive.runs()
                during = {e[:3] for e in evaluations(archive, run.id)}
        finally:
            hosts.link.up()
        wait_until(
            "the raylet declared dead to exit", lambda: raylet_pid(hosts.cluster, lost) is None, 60
        )
        back = hosts.start_worker()
        err = finished(proc, deadline, hosts.cluster)
    assert proc.returncode == 0, err
    assert "the head declared it dead" in err, err  # NodeLost, said by the retry
    archive = open_archive(archive_url, create=False)
    evals = assert_complete(archive, run.id, agents=2)
    assert N <= len(during) < 2 * N, "the link went down during the child's evaluations"
    assert {node for *_, node in evals} <= {lost, back}
    assert all(node == back for *key, node in evals if tuple(key) not in during), (
        "every job lost with the old node ran on the host's new raylet"
    )


def test_postgres_restarts_mid_run(
    hosts: Hosts, archive_url: str, tmp_path: Path, deadline: Deadline
) -> None:
    """Every connection of the driver is cut while it records: it goes on with new ones
    (the pool's pre-ping), or, when a write meets the server down, stops with one line and
    a resume completes the run; nothing is written twice or half. (Which one depends on
    when the restart falls; both were seen.) Either way it exits (`finished`)."""
    config = write_setup(tmp_path, iterations=1, workers=2)
    with dgm_process(ray_run(config, hosts.cluster, archive_url), tmp_path) as proc:
        wait_for_archive(
            archive_url, lambda a: recorded(a) >= 2, "two evaluations recorded", proc, deadline
        )
        hosts.postgres.restart()
        err = finished(proc, deadline, hosts.cluster)
    archive = open_archive(archive_url, create=False)
    (run,) = archive.runs()
    print(f"the driver through the restart: exit {proc.returncode}, {err.strip()[-300:]!r}")
    if proc.returncode != 0:
        # the LLM call writer, stuck on the same restart, may say after it that it was stopped
        said = [ln for ln in err.strip().splitlines() if "LLM call writer did not" not in ln]
        assert said[-1].startswith("error: archive error:") and "Traceback" not in err, err
        before = {e[:3]: e for e in evaluations(archive, run.id)}
        resume = ray_run(tmp_path / "none", hosts.cluster, archive_url, "--resume", run.id[:8])
        resumed = dgm(resume, tmp_path)
        assert resumed.returncode == 0, resumed.stderr
    evals = assert_complete(archive, run.id, agents=2)
    if proc.returncode != 0:
        assert {e[:3]: e for e in evals if e[:3] in before} == before, "nothing recorded is lost"

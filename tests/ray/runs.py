"""What the tests of `dgm run --executor ray` share: the command line, running it to its
end, and what the archive and Docker then hold."""

from __future__ import annotations

import subprocess
from pathlib import Path

import docker

from archive import Archive, RunInfo, open_archive
from dgm.executors.cluster_state import ClusterState
from tests.processes import DGM


def ray_run(config: Path, cluster: ClusterState, url: str, *extra: str) -> list[str]:
    """The arguments of `dgm run` on the cluster."""
    return [
        "run",
        *([str(config)] if config.exists() else []),
        "--quiet",
        "--executor",
        "ray",
        "--ray-address",
        cluster.address,
        "--archive",
        url,
        *extra,
    ]


def run_to_end(config: Path, cluster: ClusterState, url: str, cwd: Path) -> tuple[Archive, RunInfo]:
    """`dgm run` on the cluster into the archive at `url` (empty before), which must exit 0;
    the archive and its one run."""
    proc = subprocess.run(
        [str(DGM), *ray_run(config, cluster, url)], cwd=cwd, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    archive = open_archive(url, create=False)
    (run,) = archive.runs()
    return archive, archive.run(run.id)


def evaluations(archive: Archive, run_id: str) -> list[tuple[str, str, int, str | None]]:
    """(agent, task, attempt, node) of every evaluation of the run."""
    return [
        (a.id, e.task_id, e.attempt, e.node)
        for a in archive.agents(run_id)
        for e in archive.evaluations(a.id)
    ]


def run_sandboxes(run_id: str) -> list[str]:
    """The containers of the run left on this machine's Docker (every node's, here)."""
    client = docker.from_env()
    return [
        c["Id"] for c in client.api.containers(all=True, filters={"label": f"dgm.run={run_id}"})
    ]

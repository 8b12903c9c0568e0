"""`dgm run` with HGM's scheduler and `--executor ray`: each task evaluation the scheduler
dispatches goes through the cluster executor like any other evaluation (the cluster of
tests/ray/conftest.py, the setup of tests/engine/test_hgm_cli.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from archive import open_archive
from dgm.executors.cluster_state import ClusterState
from tests.engine.test_hgm_cli import hgm_setup
from tests.processes import DGM
from tests.ray.test_cluster_run import evaluations, ray_run, run_sandboxes

pytestmark = [
    pytest.mark.ray,
    pytest.mark.docker,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.timeout(400),
]


def test_hgm_evaluations_run_on_the_worker_nodes(
    ray_cluster: ClusterState, postgres_url: str, tmp_path: Path
) -> None:
    config = hgm_setup(tmp_path, 6)
    data = yaml.safe_load(config.read_text())
    config.write_text(yaml.safe_dump({**data, "workers": 2}))
    proc = subprocess.run(
        [str(DGM), *ray_run(config, ray_cluster, postgres_url)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    archive = open_archive(postgres_url, create=False)
    (run,) = archive.runs()
    evals = evaluations(archive, run.id)
    assert len(evals) == len({e[:2] for e in evals}) == 6, "the budget, each task once"
    assert {e[3] for e in evals} <= set(ray_cluster.workers) and all(e[3] for e in evals)
    assert {e.stage for a in archive.agents(run.id) for e in archive.evaluations(a.id)} == {"hgm"}
    assert len(archive.events(run.id, kinds=["hgm_final"])) == 1
    assert archive.run(run.id).status == "stopped"
    assert run_sandboxes(run.id) == []

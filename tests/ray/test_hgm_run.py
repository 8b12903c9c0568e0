"""`dgm run` with HGM's scheduler and `--executor ray`: each task evaluation the scheduler
dispatches goes through the cluster executor like any other evaluation (the cluster of
tests/ray/conftest.py, the setup of tests/engine/test_hgm_cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dgm.executors.cluster_state import ClusterState
from tests.engine.test_hgm_cli import hgm_setup
from tests.ray.runs import evaluations, run_sandboxes, run_to_end

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
    archive, run = run_to_end(config, ray_cluster, postgres_url, tmp_path)
    evals = evaluations(archive, run.id)
    assert len(evals) == len({e[:2] for e in evals}) == 6, "the budget, each task once"
    assert {e[3] for e in evals} <= set(ray_cluster.workers) and all(e[3] for e in evals)
    assert {e.stage for a in archive.agents(run.id) for e in archive.evaluations(a.id)} == {"hgm"}
    assert len(archive.events(run.id, kinds=["hgm_final"])) == 1
    assert run.status == "stopped"
    assert run_sandboxes(run.id) == []

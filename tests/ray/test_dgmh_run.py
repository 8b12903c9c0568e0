"""`dgm run` with the dgmh operator and `--executor ray`: each agent's selector, its
self-modification and its evaluations are jobs of the cluster (the cluster of
tests/ray/conftest.py, the setup of tests/engine/test_dgmh_cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive import open_archive
from dgm.dgmh import EVENT
from dgm.executors.cluster_state import ClusterState
from tests.engine.test_cli_run import dgm
from tests.engine.test_dgmh_cli import FLAGGED, dgmh_setup
from tests.ray.test_cluster_run import evaluations, ray_run, run_sandboxes

pytestmark = [
    pytest.mark.ray,
    pytest.mark.docker,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.timeout(600),
]


def test_agents_selectors_run_on_the_worker_nodes(
    ray_cluster: ClusterState, postgres_url: str, tmp_path: Path
) -> None:
    config = dgmh_setup(tmp_path, 2, FLAGGED)
    proc = dgm(*ray_run(config, ray_cluster, postgres_url), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    archive = open_archive(postgres_url, create=False)
    (run,) = archive.runs()
    seed, c1, c2 = archive.agents(run.id)
    # The seed's rule chose the seed; its child's edited rule chose the child.
    assert (c1.parent_id, c2.parent_id) == (seed.id, c1.id)
    chosen = [e.payload for e in archive.events(run.id, kinds=[EVENT])]
    assert [(c["selector"], c["picked"], c["fallback"]) for c in chosen] == [
        (seed.id, [seed.id], None),
        (c1.id, [c1.id], None),
    ]
    assert {c["node"] for c in chosen} <= set(ray_cluster.workers)
    assert all(c["node"] for c in chosen)
    evals = evaluations(archive, run.id)
    assert len(evals) == 3 and all(e[3] in ray_cluster.workers for e in evals)
    assert archive.run(run.id).status == "finished"
    assert run_sandboxes(run.id) == []

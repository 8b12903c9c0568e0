"""`dgm run --problem ... --seeds 1-2 --executor ray`: a seed sweep whose runs follow one
another, each run's evaluations on the worker nodes of the real cluster of
tests/ray/conftest.py; then `dgm compare` over the two runs."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from archive import open_archive
from dgm.executors.cluster_state import ClusterState
from tests.ray.test_problem_run import dgm_run, write_setup

pytestmark = [pytest.mark.ray, pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(480)]


def test_a_seed_sweep_runs_each_seed_on_the_cluster(
    ray_cluster: ClusterState, tmp_path: Path
) -> None:
    proc = subprocess.run(
        dgm_run(write_setup(tmp_path), ray_cluster, "--seeds", "1-2"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    ids = re.findall(r"^[0-9a-f]{16}$", proc.stdout, flags=re.MULTILINE)
    assert len(ids) == 2
    with open_archive(tmp_path / ".dgm" / "archive.db", read_only=True) as archive:
        runs = [archive.run(r) for r in ids]
        assert [r.seed for r in runs] == [1, 2]
        assert all(r.status == "finished" and r.config["executor"] == "ray" for r in runs)
        for r in runs:
            nodes = {e.node for a in archive.agents(r.id) for e in archive.evaluations(a.id)}
            assert nodes and nodes <= set(ray_cluster.workers), "evaluated on the workers"
    cmp = subprocess.run(
        [proc.args[0], "compare", *ids, "--json"], cwd=tmp_path, capture_output=True, text=True
    )
    assert cmp.returncode == 0, cmp.stderr
    rows = json.loads(cmp.stdout)["runs"]
    assert [r["seed"] for r in rows] == [1, 2] and all(r["children_born"] == 4 for r in rows)

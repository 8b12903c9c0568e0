"""A real Ray cluster on this machine for the tests of the ray executor: a head that runs
no job and two worker nodes, each its own raylet (`ray start`) with distinct resources
and `dgm_sandbox` slots. One per test session; stopped (its processes only) at the end.

Node death is detected in about 3 s instead of Ray's default 15 s (health-check config on
the head), so the raylet-kill test stays short.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dgm.executors.cluster_state import ClusterState, add_worker, start_head, stop_cluster
from tests.conftest import missing

FAST_DEATH = {
    "RAY_health_check_initial_delay_ms": "1000",
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}


KILLS_A_WORKER = "test_a_worker_node_lost_mid_evaluation_is_retried_elsewhere"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The test that kills one of the session cluster's workers runs after every other
    (the others may need both workers)."""
    items.sort(key=lambda item: item.name == KILLS_A_WORKER)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[ClusterState]:
    try:
        import ray  # noqa: F401
    except ImportError as e:
        missing("ray", f"{e}: install the ray extra (dgm[ray])")
    state = start_head(env=FAST_DEATH)
    try:
        add_worker(state, cpus=2, sandboxes=2, memory_mb=6144, env=FAST_DEATH)
        add_worker(state, cpus=3, sandboxes=2, memory_mb=8192, env=FAST_DEATH)
        yield state
    finally:
        stop_cluster(state)

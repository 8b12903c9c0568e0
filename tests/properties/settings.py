"""Shared hypothesis settings: modest example counts, so the suite stays quick on a loaded
machine; no per-example deadline (a busy machine makes those flaky), each test has its own
pytest timeout instead."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

FEW = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

"""Every shipped task is sound, checked the way `dgm bench validate` checks it: in the
real Docker sandbox, the gold patch resolves it and the empty patch does not."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from benchmarks.suites import POLYGLOT_MINI, Validation, open_suite, validate_task

pytestmark = [
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.timeout(1500),
]  # every shipped task, gold and empty

SUITES = ["swe-mini"] + (["polyglot-mini"] if POLYGLOT_MINI.is_dir() else [])
CASES = [(name, t.instance_id) for name in SUITES for t in open_suite(name).tasks()]


@pytest.fixture(scope="module")
def validations(docker_backend: Any) -> dict[tuple[str, str], Validation]:
    """All tasks validated at once, three at a time (each task is two sandboxes)."""
    jobs = []
    for name in SUITES:
        suite = open_suite(name)
        jobs += [(name, suite, t) for t in suite.tasks()]
    with ThreadPoolExecutor(3) as pool:
        done = pool.map(
            lambda job: (
                (job[0], job[2].instance_id),
                validate_task(job[1], job[2], docker_backend),
            ),
            jobs,
        )
        return dict(done)


def test_there_is_something_to_validate() -> None:
    assert len([c for c in CASES if c[0] == "swe-mini"]) >= 1


@pytest.mark.parametrize(("suite", "instance_id"), CASES, ids=[f"{s}/{i}" for s, i in CASES])
def test_gold_resolves_and_empty_does_not(
    validations: dict[tuple[str, str], Validation], suite: str, instance_id: str
) -> None:
    v = validations[(suite, instance_id)]
    assert v.gold.resolved, v.reasons + [v.gold.log[-2000:]]
    assert v.empty.FAIL_TO_PASS.failure, "the empty patch leaves no FAIL_TO_PASS test failing"
    assert not v.empty.resolved and v.empty.error_kind is None, v.reasons
    assert v.valid

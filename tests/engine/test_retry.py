"""RetryingExecutor (dgm/executors/retry.py): a job the sandbox's engine failed runs again
once the engine answers, at most TRIES times; an engine that stays away past wait_s, or a
job failed every time, is one EngineUnavailable line; any other failure is the job's own."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from dgm.executors.protocol import Done, Job, NodeContext, OnStart, Resources
from dgm.executors.retry import TRIES, RetryingExecutor
from sandbox import EngineUnavailable


@dataclass
class Flaky:
    """An executor whose first `fails` submits fail from outside the sandbox."""

    fails: int
    error: Exception = field(default_factory=lambda: EngineUnavailable("container stopped"))
    name: str = "fake"
    runs: int = 0

    def submit(self, job: Job[int], on_start: OnStart | None = None) -> Done[int]:
        self.runs += 1
        if self.runs <= self.fails:
            raise self.error
        return Done(42, None)


class OneJob:
    resources = Resources()

    def run(self, node: NodeContext) -> int:
        raise AssertionError("the fake executor never runs it")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s


def retrying(inner: Flaky, answers: object, clock: Clock, wait_s: float = 30) -> RetryingExecutor:
    return RetryingExecutor(inner, wait_s, answers, sleep=clock.sleep, clock=clock)  # type: ignore[arg-type]


def test_a_job_the_engine_failed_runs_again_once_it_answers() -> None:
    clock, asked = Clock(), []

    def answers() -> bool:  # down for 3 s, then back
        asked.append(clock.now)
        return clock.now >= 3

    inner = Flaky(fails=TRIES - 1)
    assert retrying(inner, answers, clock).submit(OneJob()).value == 42
    assert inner.runs == TRIES and clock.now >= 3


def test_an_engine_away_past_the_wait_is_one_line() -> None:
    clock = Clock()
    inner = Flaky(fails=1)
    with pytest.raises(EngineUnavailable) as caught:
        retrying(inner, lambda: False, clock, wait_s=10).submit(OneJob())
    line = str(caught.value)
    assert line.startswith("the sandbox engine did not answer again within 10 s")
    assert "container stopped" in line and "\n" not in line
    assert inner.runs == 1 and 10 <= clock.now < 12


def test_a_job_failed_every_time_stops_after_tries() -> None:
    inner = Flaky(fails=TRIES + 5)
    with pytest.raises(EngineUnavailable, match=f"failed {TRIES} times from outside"):
        retrying(inner, lambda: True, Clock()).submit(OneJob())
    assert inner.runs == TRIES


def test_the_jobs_own_failure_is_not_retried() -> None:
    inner = Flaky(fails=1, error=ValueError("the program is wrong"))
    with pytest.raises(ValueError):
        retrying(inner, lambda: True, Clock()).submit(OneJob())
    assert inner.runs == 1


def test_where_the_engine_cannot_be_asked_it_pauses_then_runs_again() -> None:
    clock = Clock()
    inner = Flaky(fails=1)
    assert retrying(inner, None, clock).submit(OneJob()).value == 42
    assert inner.runs == 2 and clock.now > 0

"""Jobs the machinery failed run again: an executor wrapper for the sandbox's engine going
away or restarting mid-job.

A job whose sandbox broke from outside (`sandbox.EngineUnavailable`: the Docker engine
stopped answering, or restarted and took the job's container with it) says nothing about
the agent or program in it, so it is never recorded as their result. `RetryingExecutor`
waits for the engine to answer again (at most `wait_s`) and runs the job again, at most
TRIES times in all. Past either bound it raises EngineUnavailable with one line saying
why; the loop then stops the run without recording the job, and a resume runs it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from dgm.executors.protocol import Done, Executor, GatewayApp, Job, OnStart
from sandbox import EngineUnavailable
from sandbox.closing import Closing

log = logging.getLogger(__name__)

T = TypeVar("T")
TRIES = 3  # runs of one job, the first included
POLL_S = 1.0  # how often the engine is asked whether it answers again
PAUSE_S = 5.0  # before a job runs again where the engine cannot be asked (a cluster node)


def docker_answers() -> bool:
    """Whether this machine's Docker engine (DOCKER_HOST's) answers now."""
    from sandbox.docker_backend import connect

    try:
        connect().close()
        return True
    except EngineUnavailable:
        return False


class RetryingExecutor(Closing):
    """`inner`, with each job the engine failed run again once the engine answers.
    `answers`: asks the engine (None: it cannot be asked from here; pause PAUSE_S)."""

    def __init__(
        self,
        inner: Executor,
        wait_s: float,
        answers: Callable[[], bool] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner, self.wait_s, self.answers = inner, wait_s, answers
        self.sleep, self.clock = sleep, clock
        self.name = inner.name

    def submit(self, job: Job[T], on_start: OnStart | None = None) -> Done[T]:
        for run in range(1, TRIES + 1):
            try:
                return self.inner.submit(job, on_start)
            except EngineUnavailable as e:
                why = str(e).splitlines()[0] if str(e) else type(e).__name__
                if run == TRIES:
                    raise EngineUnavailable(
                        f"a job failed {TRIES} times from outside its sandbox ({why})"
                    ) from None
                log.warning("a job failed from outside its sandbox (%s): running it again", why)
                if not self.wait():
                    raise EngineUnavailable(
                        f"the sandbox engine did not answer again within {self.wait_s:g} s ({why})"
                    ) from None
        raise AssertionError("unreachable")  # the loop returns or raises

    def wait(self) -> bool:
        """Until the engine answers (True), or wait_s passes (False)."""
        if self.answers is None:
            self.sleep(min(PAUSE_S, self.wait_s))
            return True
        deadline = self.clock() + self.wait_s
        while not self.answers():
            if self.clock() >= deadline:
                return False
            self.sleep(POLL_S)
        return True

    def start(self, gateway: GatewayApp) -> None:
        self.inner.start(gateway)

    def where(self) -> dict[str, str]:
        return self.inner.where()

    def sweep(self, final: bool = True) -> int:
        return self.inner.sweep(final)

    def close(self) -> None:
        self.inner.close()

"""Closing the warm pool removes every unused instance, on the pool's threads (two at once),
not one after another on the caller's: a removal is a second of the engine's work on a
loaded machine, and a run's exit waited for each in turn."""

from __future__ import annotations

import itertools
import threading
import time

from sandbox.pool import CREATORS, WarmPool


def test_close_removes_the_ready_instances_on_the_pools_threads_at_once() -> None:
    ids = itertools.count()
    removed: list[tuple[str, str]] = []
    at_once, busy, lock = [0], [0], threading.Lock()

    def create(key: str) -> str:
        return f"{key}-{next(ids)}"

    def destroy(cid: str) -> None:
        with lock:
            busy[0] += 1
            at_once[0] = max(at_once[0], busy[0])
        time.sleep(0.3)  # as slow as the engine: the removals overlap if they can
        with lock:
            busy[0] -= 1
            removed.append((cid, threading.current_thread().name))

    pool: WarmPool[str] = WarmPool(create, destroy, size=4)
    pool.give_back(pool.take("a"))  # not recycling: handed back means removed
    pool.wait_idle()
    assert pool.ready_count("a") == 4
    pool.close()
    gone = {cid for cid, _ in removed}
    assert len(gone) == 5  # the 4 ready and the one handed back
    assert pool.ready_count("a") == 0
    assert {name for _, name in removed} <= {f"sandbox-pool-{i}" for i in range(CREATORS)}
    assert at_once[0] == CREATORS  # removals overlapped: the 4 ready ones went in pairs

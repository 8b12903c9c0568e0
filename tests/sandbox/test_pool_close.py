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


def test_fill_makes_instances_ahead_and_take_waits_for_one_being_made() -> None:
    """A `take` while the pool is making an instance waits for it instead of making a
    second: one creation for one take (prefill's point)."""
    made: list[str] = []
    go = threading.Event()

    def create(key: str) -> str:
        go.wait(10)  # held until the take below is waiting
        made.append(f"{key}-{len(made)}")
        return made[-1]

    pool: WarmPool[str] = WarmPool(create, lambda _cid: None, size=1)
    pool.fill("a")
    deadline = time.monotonic() + 5
    while not pool._making["a"] and time.monotonic() < deadline:  # the fill has begun
        time.sleep(0.01)
    threading.Timer(0.3, go.set).start()
    cid = pool.take("a")
    pool.wait_idle()
    assert cid == "a-0"
    assert made == ["a-0", "a-1"]  # the one taken, then its refill: never two at once for it
    pool.close()


def test_a_failed_creation_wakes_a_waiting_take_which_makes_its_own() -> None:
    calls = itertools.count()
    started = threading.Event()

    def create(key: str) -> str:
        n = next(calls)
        if n == 0:
            started.set()
            time.sleep(0.3)
            raise RuntimeError("the engine said no")
        return f"{key}-{n}"

    pool: WarmPool[str] = WarmPool(create, lambda _cid: None, size=1)
    pool.fill("a")
    assert started.wait(5)
    began = time.monotonic()
    cid = pool.take("a")
    waited = time.monotonic() - began
    assert cid.startswith("a-")
    assert waited < 1.5  # woken by the failure, not left to its 2 s wait
    pool.close()

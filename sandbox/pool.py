"""A warm pool of fresh sandboxes, started ahead of need.

Reusing a sandbox across untrusted runs is not safe as such (the previous run may have
left a process, a file or a poisoned cache behind), so the pool only ever hands out
instances that have never run anything, or, when it is given a `recycle` function,
instances that function has put back into the state they started in and checked (the
Docker backend's runner does that: see sandbox/runner.py `reset`); an instance it cannot
vouch for is removed. Creation and removal run on background threads (two at once: on
two cores the engine gains little from more), recycling on a thread of its own so that it
never waits behind a slow creation; closing a sandbox costs its caller nothing.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
CREATORS = 2  # threads that create and remove instances
# How long `take` waits for an instance being recycled or made rather than create one (a
# reset takes milliseconds, a creation hundreds of them, one under way is ahead of a new
# one, and an extra instance is churn).
RECYCLE_WAIT_S = 2.0


class WarmPool(Generic[K]):
    """Per key (a container spec), up to `size` started instances (ids) ready to hand out.

    With `recycle`, instances handed out count towards `size` until they come back, so the
    pool does not create instances it would have to throw away when they return."""

    def __init__(
        self,
        create: Callable[[K], str],
        destroy: Callable[[str], None],
        size: int,
        recycle: Callable[[str], bool] | None = None,
    ) -> None:
        self._create = create
        self._destroy = destroy
        self._recycle = recycle
        self._size = size
        self._ready: dict[K, deque[str]] = defaultdict(deque)
        self._out: Counter[K] = Counter()  # handed out, may come back (recycling only)
        self._making: Counter[K] = Counter()  # being created now
        self._recycling: Counter[K] = Counter()  # given back, being reset
        self._key_of: dict[str, K] = {}  # handed-out instance -> its key (recycling only)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0  # jobs queued or running
        self._jobs: queue.Queue[tuple[str, object] | None] = queue.Queue()
        self._returns: queue.Queue[tuple[str, K] | None] = queue.Queue()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"sandbox-pool-{i}", daemon=True)
            for i in range(CREATORS)
        ]
        if recycle is not None:
            self._threads.append(
                threading.Thread(target=self._recycle_work, name="sandbox-recycle", daemon=True)
            )
        for t in self._threads:
            t.start()

    def take(self, key: K) -> str:
        """A fresh instance for `key`: from the pool when one is ready, else made now."""
        with self._idle:
            ready = self._ready[key]
            if not ready and (self._recycling[key] or self._making[key]):
                self._idle.wait_for(
                    lambda: bool(ready) or not (self._recycling[key] or self._making[key]),
                    RECYCLE_WAIT_S,
                )
            cid = ready.popleft() if ready else None
            if cid is not None:
                self._handed_out(cid, key)  # in the same breath, or a refill sees a gap
        if cid is None:
            cid = self._create(key)
            with self._lock:
                self._handed_out(cid, key)
        if self._size > 0:
            self._submit(("refill", key))
        return cid

    def fill(self, key: K) -> None:
        """Start making `key`'s instances now, in the background (returns at once)."""
        if self._size > 0:
            self._submit(("refill", key))

    def give_back(self, cid: str) -> None:
        """A used instance: recycled in the background when the pool recycles, else removed."""
        with self._lock:
            key = self._key_of.pop(cid, None)
            if key is not None:  # from "out" to "recycling" at once: never counted as gone
                self._out[key] -= 1
                self._recycling[key] += 1
                self._pending += 1
        if key is None:
            self.discard(cid)
            return
        self._returns.put((cid, key))

    def discard(self, cid: str) -> None:
        """Remove an instance (broken, or not to be reused), in the background."""
        key = self._returned(cid)
        self._submit(("destroy", cid))
        if key is not None and self._size > 0 and not self._closed:
            self._submit(("refill", key))

    def drop_ready(self) -> None:
        """Remove every ready instance, in the background: the engine restarted, so they
        are stopped or gone. Later takes get new ones."""
        for cid in self._take_ready():
            self._submit(("destroy", cid))

    def ready_count(self, key: K) -> int:
        with self._lock:
            return len(self._ready[key])

    def wait_idle(self, timeout: float | None = None) -> None:
        """Block until queued refills, recycles and removals are done (tests, benchmarks)."""
        with self._idle:
            self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        """Finish queued removals, stop refilling, remove every unused instance."""
        if self._closed:
            return
        self._closed = True
        # The unused instances go on the threads, ahead of their stop (in parallel: a
        # removal is the engine's work, a second apiece on a loaded machine).
        for cid in self._take_ready():
            self._submit(("destroy", cid))
        for _ in range(CREATORS):
            self._jobs.put(None)
        self._returns.put(None)
        for t in self._threads:
            t.join(timeout=120)
        self._drain()
        for cid in self._take_ready():  # made while the threads stopped
            self._destroy_quietly(cid)

    def _take_ready(self) -> list[str]:
        with self._lock:
            ready = [cid for queued in self._ready.values() for cid in queued]
            for queued in self._ready.values():
                queued.clear()  # in place: a `take` may be waiting on its key's queue
        return ready

    # -- background work -------------------------------------------------------------------

    def _submit(self, job: tuple[str, object]) -> None:
        with self._lock:
            self._pending += 1
        self._jobs.put(job)

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def _handed_out(self, cid: str, key: K) -> None:
        """Count `cid` as out until it comes back (recycling only). Holds the lock."""
        if self._recycle is not None:
            self._out[key] += 1
            self._key_of[cid] = key

    def _returned(self, cid: str) -> K | None:
        """Stop counting `cid` as handed out; its key, when the pool recycles."""
        with self._lock:
            key = self._key_of.pop(cid, None)
            if key is not None:
                self._out[key] -= 1
        return key

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            kind, arg = job
            try:
                if kind == "destroy":
                    self._destroy_quietly(arg)  # type: ignore[arg-type]
                elif kind == "refill" and not self._closed:
                    self._refill(arg)  # type: ignore[arg-type]
            except Exception as e:  # the pool is an optimisation: never let it kill the caller
                log.warning("sandbox pool: %s failed: %s", kind, e)
            finally:
                self._done()

    def _drain(self) -> None:
        """After the threads stopped: what was still queued is removed, not reused."""
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None and job[0] == "destroy":
                self._destroy_quietly(job[1])  # type: ignore[arg-type]
        while True:
            try:
                back = self._returns.get_nowait()
            except queue.Empty:
                break
            if back is not None:
                self._destroy_quietly(back[0])

    def _recycle_work(self) -> None:
        assert self._recycle is not None
        while (job := self._returns.get()) is not None:
            cid, key = job
            try:
                clean = not self._closed and self._recycle(cid)
            except Exception as e:
                log.warning("sandbox pool: recycling %s failed: %s", cid[:12], e)
                clean = False
            with self._idle:
                keep = clean and not self._closed and len(self._ready[key]) < self._size
                if keep:
                    self._ready[key].append(cid)
                self._recycling[key] -= 1
                self._idle.notify_all()
            if not keep:
                self._destroy_quietly(cid)
                if not self._closed:
                    self._submit(("refill", key))
            self._done()

    def _refill(self, key: K) -> None:
        while not self._closed:
            with self._lock:
                have = (
                    len(self._ready[key])
                    + self._out[key]
                    + self._recycling[key]
                    + self._making[key]
                )
                if have >= self._size:
                    return
                self._making[key] += 1
            try:
                cid = self._create(key)
            except BaseException:
                with self._idle:
                    self._making[key] -= 1
                    self._idle.notify_all()
                raise
            with self._idle:  # made and ready in one breath: a waiting `take` sees one or the other
                self._making[key] -= 1
                leftover = cid if self._closed else None
                if leftover is None:
                    self._ready[key].append(cid)
                self._idle.notify_all()  # a `take` may be waiting for this one
            if leftover:
                self._destroy_quietly(leftover)

    def _destroy_quietly(self, cid: str) -> None:
        try:
            self._destroy(cid)
        except Exception as e:
            log.warning("sandbox pool: could not remove %s: %s", cid[:12], e)

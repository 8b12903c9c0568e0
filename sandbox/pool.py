"""A warm pool of fresh sandboxes, started ahead of need.

Reusing a sandbox across untrusted runs is not safe (the previous run may have left a
process, a file or a poisoned cache behind), so the pool only ever hands out instances
that have never run anything, and refills itself in the background. Removal of used
instances also happens in the background, so closing a sandbox costs its caller nothing.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)


class WarmPool(Generic[K]):
    """Per key (a container spec), up to `size` started, never-used instances (ids)."""

    def __init__(
        self, create: Callable[[K], str], destroy: Callable[[str], None], size: int
    ) -> None:
        self._create = create
        self._destroy = destroy
        self._size = size
        self._ready: dict[K, deque[str]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._jobs: queue.Queue[tuple[str, object] | None] = queue.Queue()
        self._closed = False
        self._worker = threading.Thread(target=self._work, name="sandbox-pool", daemon=True)
        self._worker.start()

    def take(self, key: K) -> str:
        """A fresh instance for `key`: from the pool when one is ready, else made now."""
        with self._lock:
            ready = self._ready[key]
            cid = ready.popleft() if ready else None
        if self._size > 0:
            self._jobs.put(("refill", key))
        return cid if cid is not None else self._create(key)

    def discard(self, cid: str) -> None:
        """Remove a used instance, in the background."""
        self._jobs.put(("destroy", cid))

    def ready_count(self, key: K) -> int:
        with self._lock:
            return len(self._ready[key])

    def wait_idle(self, timeout: float | None = None) -> None:
        """Block until queued refills and removals are done (tests, benchmarks, close)."""
        done = threading.Event()
        self._jobs.put(("mark", done))
        done.wait(timeout)

    def close(self) -> None:
        """Finish queued removals, stop refilling, remove every unused instance."""
        if self._closed:
            return
        self._closed = True
        self._jobs.put(None)
        self._worker.join(timeout=120)
        with self._lock:
            leftovers = [cid for ready in self._ready.values() for cid in ready]
            self._ready.clear()
        for cid in leftovers:
            self._destroy_quietly(cid)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            kind, arg = job
            try:
                if kind == "destroy":
                    self._destroy_quietly(arg)  # type: ignore[arg-type]
                elif kind == "mark":
                    arg.set()  # type: ignore[attr-defined]
                elif kind == "refill" and not self._closed:
                    self._refill(arg)  # type: ignore[arg-type]
            except Exception as e:  # the pool is an optimisation: never let it kill the caller
                log.warning("sandbox pool: %s failed: %s", kind, e)
        # Drain removals queued before close.
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if job is not None and job[0] == "destroy":
                self._destroy_quietly(job[1])  # type: ignore[arg-type]
            elif job is not None and job[0] == "mark":
                job[1].set()  # type: ignore[attr-defined]

    def _refill(self, key: K) -> None:
        while self.ready_count(key) < self._size and not self._closed:
            cid = self._create(key)
            with self._lock:
                if self._closed:
                    leftover = cid
                else:
                    self._ready[key].append(cid)
                    leftover = None
            if leftover:
                self._destroy_quietly(leftover)

    def _destroy_quietly(self, cid: str) -> None:
        try:
            self._destroy(cid)
        except Exception as e:
            log.warning("sandbox pool: could not remove %s: %s", cid[:12], e)

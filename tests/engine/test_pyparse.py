"""Threads that parse Python at once (the engine's workers normalising children, making
line and token edits) never fail on CPython 3.11's AST recursion counter, which the
interpreter shares between threads (dgm/pyparse.py)."""

from __future__ import annotations

import sys
import threading
import time

from dgm.novelty import normalise

PROGRAM = "\n".join(
    f"def f{i}(x):\n    return [y * {i} for y in range(x) if y % 3]\n" for i in range(100)
).encode()


class Litter:
    """Garbage in a cycle whose finalizer runs Python: a collection during a parse can
    hand the GIL to another thread mid-parse, as a real process's garbage does."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        sum(range(200))


def test_threads_parsing_at_once_all_succeed() -> None:
    errors: list[str] = []
    parsed = [0, 0]
    end = time.monotonic() + 3

    def work(k: int, depth: int) -> None:
        if depth:  # the two threads start their parses at different stack depths
            return work(k, depth - 1)
        while time.monotonic() < end and not errors:
            for _ in range(20):
                Litter()
            try:
                normalise("main.py", PROGRAM)
            except SystemError as e:
                errors.append(str(e))
            parsed[k] += 1

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # the GIL changes hands as often as it can
    try:
        threads = [threading.Thread(target=work, args=(k, 30 * k)) for k in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert min(parsed) >= 10, parsed  # both threads really parsed, many times

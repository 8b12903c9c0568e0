"""Threads that parse Python at once (the engine's workers normalising children, making
line and token edits; the task and problem loaders of benchmarks/ beside them) never fail
on CPython 3.11's AST recursion counter, which the interpreter shares between threads
(benchmarks/pyparse.py)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.polyglot import test_ids as polyglot_test_ids
from benchmarks.problems import load
from benchmarks.problems.openevolve import preload_modules
from dgm.novelty import normalise

PROGRAM = "\n".join(
    f"def f{i}(x):\n    return [y * {i} for y in range(x) if y % 3]\n" for i in range(100)
)


class Litter:
    """Garbage in a cycle whose finalizer runs Python: a collection during a parse can
    hand the GIL to another thread mid-parse, as a real process's garbage does."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        sum(range(200))


def parse_at_once(first: Callable[[], object], second: Callable[[], object]) -> None:
    """Run `first` and `second` over and over on two threads for 3 s, and on until each
    has parsed 10 times (a loaded machine gives the slower one fewer turns; 60 s at
    most), the GIL changing hands as often as it can; no parse may fail."""
    errors: list[str] = []
    parsed = [0, 0]
    start = time.monotonic()

    def going() -> bool:
        elapsed = time.monotonic() - start
        return not errors and elapsed < 60 and (elapsed < 3 or min(parsed) < 10)

    def work(k: int, depth: int) -> None:
        if depth:  # the two threads start their parses at different stack depths
            return work(k, depth - 1)
        while going():
            for _ in range(20):
                Litter()
            try:
                (first, second)[k]()
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


def engine() -> object:
    return normalise("main.py", PROGRAM.encode())


def test_threads_parsing_at_once_all_succeed() -> None:
    parse_at_once(engine, engine)


def test_a_polyglot_exercises_test_ids_are_parsed_one_at_a_time_with_the_engine() -> None:
    """Under the engine's lock too (beside it, without, it failed at once)."""
    tests = "class TestF(unittest.TestCase):\n    def test_one(self):\n        pass\n" + PROGRAM
    assert polyglot_test_ids("f_test.py", tests) == ["f_test.py::TestF::test_one"]
    parse_at_once(engine, lambda: polyglot_test_ids("f_test.py", tests))


def test_an_openevolve_evaluators_imports_are_parsed_one_at_a_time_with_the_engine(
    tmp_path: Path,
) -> None:
    (tmp_path / "initial_program.py").write_text("x = 1\n")
    (tmp_path / "evaluator.py").write_text("import numpy\n" + PROGRAM)
    problem = load(tmp_path)
    assert "numpy" in preload_modules(problem)  # with the harness's own imports
    parse_at_once(engine, lambda: preload_modules(problem))

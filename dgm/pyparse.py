"""`ast.parse` for code that runs on several threads (the engine's workers: line_edit,
token edits, novelty's normaliser).

CPython 3.11 keeps the counter that `ast.parse` uses to check its own recursion in the
interpreter, not in the thread. When the GIL changes hands during a parse (a finalizer
runs, say) and another thread parses meanwhile, the first parse fails with
`SystemError: AST constructor recursion depth mismatch` (pytest-dev/pytest#10763 shows it
in a test run; tests/engine/test_pyparse.py reproduces it). One lock lets the engine's
parses go one at a time; a parse takes milliseconds, so it costs the workers nothing
measurable. It narrows the race rather than closing it: parses outside dgm (the problem
loaders in benchmarks/, which may not import dgm, and 3.11's own traceback rendering of
a logged exception) do not take the lock.
"""

from __future__ import annotations

import ast
import threading

_lock = threading.Lock()


def parse(source: str | bytes, filename: str = "<unknown>") -> ast.Module:
    """`ast.parse(source, filename)`, one thread at a time."""
    with _lock:
        return ast.parse(source, filename)

"""`ast.parse` for code that runs on several threads: the engine's workers (line_edit,
token edits, novelty's normaliser) and the task and problem loaders here (a polyglot
exercise's test ids, an OpenEvolve evaluator's imports), which a run may call beside them.

CPython 3.11 keeps the counter that `ast.parse` uses to check its own recursion in the
interpreter, not in the thread. When the GIL changes hands during a parse (a finalizer
runs, say) and another thread parses meanwhile, the first parse fails with
`SystemError: AST constructor recursion depth mismatch` (pytest-dev/pytest#10763 shows it
in a test run; tests/engine/test_pyparse.py reproduces it). One lock lets every parse of
dgm's go one at a time; a parse takes milliseconds, so it costs the workers nothing
measurable. It lives here, in benchmarks/, because both rooms that parse may import it
(dgm may import benchmarks, never the other way). It narrows the race rather than closing
it: 3.11's own traceback rendering of a logged exception parses without it (dgm's servers
print no traceback for a client that hangs up: dgm/httpserver.py).
"""

from __future__ import annotations

import ast
import threading

_lock = threading.Lock()


def parse(source: str | bytes, filename: str = "<unknown>") -> ast.Module:
    """`ast.parse(source, filename)`, one thread at a time."""
    with _lock:
        return ast.parse(source, filename)

"""A tripwire loaded into every Python process of a problem's sandbox (it is on PYTHONPATH).

While code from a candidate file is on the call stack, opening one of the evaluator's
files (or the harness's result directory), or starting another program, ends the process
at once (exit code 86) after appending the reason to the violations file, which the host
reads. The candidate runs in the evaluator's own process, so this is a tripwire, not a
wall: the wall is that held-out data is never put in the sandbox of a training evaluation.
Standard library only; costs nothing unless one of the watched events fires.
"""

import os
import sys

_CANDIDATES = frozenset(p for p in os.environ.get("DGM_GUARD_CANDIDATES", "").split(":") if p)
_PROTECTED = tuple(p for p in os.environ.get("DGM_GUARD_PROTECTED", "").split(":") if p)
_REPORT = os.environ.get("DGM_GUARD_REPORT", "")
_SPAWN = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "pty.spawn")
VIOLATION_EXIT = 86


def _candidate_on_stack():
    frame = sys._getframe()
    while frame is not None:
        name = frame.f_code.co_filename
        if name in _CANDIDATES or os.path.abspath(name) in _CANDIDATES:
            return True
        frame = frame.f_back
    return False


def _protected(path):
    if isinstance(path, int):
        return False
    try:
        full = os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return False
    if full in _CANDIDATES or "/__pycache__/" in full:  # imports look for bytecode caches
        return False
    return any(full == p or full.startswith(p.rstrip("/") + "/") for p in _PROTECTED)


_tripped: list[str] = []


def _trip(reason):
    _tripped.append(reason)  # the report's own open() comes back through the hook
    try:
        fd = os.open(_REPORT, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, (reason.replace("\n", " ")[:500] + "\n").encode())
        os.close(fd)
    finally:
        os._exit(VIOLATION_EXIT)


def _hook(event, args):
    if _tripped:
        return
    if event == "open":
        if args and _protected(args[0]) and _candidate_on_stack():
            _trip(f"the candidate tried to open {os.fsdecode(args[0])}, a file of the evaluator")
    elif event.startswith(_SPAWN) and _candidate_on_stack():
        _trip(f"the candidate tried to start a program ({event})")


if _CANDIDATES and _REPORT:
    sys.addaudithook(_hook)

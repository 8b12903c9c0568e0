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

VIOLATION_EXIT = 86
SPAWN = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "pty.spawn")


def _install(candidates, protected, report):
    """Add the hook. Its state lives in this closure, not in module globals, so a candidate
    cannot switch it off by rebinding a name of this module."""
    tripped = []
    spawn, exit_code = SPAWN, VIOLATION_EXIT
    # Bound now: a candidate that patches os.path or sys later does not blind the hook.
    getframe, abspath, realpath, fsdecode = (
        sys._getframe,
        os.path.abspath,
        os.path.realpath,
        os.fsdecode,
    )
    os_open, os_write, os_close, os_exit = os.open, os.write, os.close, os._exit
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT

    def candidate_on_stack():
        frame = getframe()
        while frame is not None:
            name = frame.f_code.co_filename
            if name in candidates or abspath(name) in candidates:
                return True
            frame = frame.f_back
        return False

    def is_protected(path):
        if isinstance(path, int):
            return False
        try:
            full = realpath(fsdecode(path))
        except (TypeError, ValueError):
            return False
        head, cache, tail = full.rpartition("/__pycache__/")
        if cache:  # a bytecode cache is guarded as its source (the evaluator's is shipped)
            full = head + "/" + tail.split(".")[0] + ".py"
        if full in candidates:  # an import of a candidate's own module looks for its cache
            return False
        return any(full == p or full.startswith(p.rstrip("/") + "/") for p in protected)

    def trip(reason):
        tripped.append(reason)  # the report's own open() comes back through the hook
        try:
            fd = os_open(report, flags, 0o600)
            os_write(fd, (reason.replace("\n", " ")[:500] + "\n").encode())
            os_close(fd)
        finally:
            os_exit(exit_code)

    def hook(event, args):
        if tripped:
            return
        if event == "open":
            if args and is_protected(args[0]) and candidate_on_stack():
                trip(f"the candidate tried to open {fsdecode(args[0])}, a file of the evaluator")
        elif event.startswith(spawn) and candidate_on_stack():
            trip(f"the candidate tried to start a program ({event})")

    sys.addaudithook(hook)


def _from_env():
    candidates = frozenset(p for p in os.environ.get("DGM_GUARD_CANDIDATES", "").split(":") if p)
    protected = tuple(p for p in os.environ.get("DGM_GUARD_PROTECTED", "").split(":") if p)
    report = os.environ.get("DGM_GUARD_REPORT", "")
    if report:
        # The host reads this directory after the run (the report, the evaluator's
        # result); making it here spares the evaluation a shell and a mkdir.
        try:
            os.makedirs(os.path.dirname(report), exist_ok=True)
        except OSError:
            pass
    if candidates and report:
        _install(candidates, protected, report)


_from_env()

"""The pre-started interpreter of a sandbox container: imports a problem's packages once,
then forks one child per Python command, so a command pays neither interpreter start nor
imports (numpy alone costs 0.7 s of CPU on a loaded 2-core machine).

The runner (sandbox/runner.py, PID 1) starts it as `python3 -I -c <this file> FD PRELOAD`
with FD one end of a SOCK_SEQPACKET socket pair and PRELOAD a JSON list of dotted names
(modules, or attributes of modules: see `preload`).
Standard library only, like the runner.

Why one candidate cannot affect another through it (docs/sandbox.md, "Pre-started
interpreter"):
- it never runs candidate code, nor the evaluator's own files: it imports the listed
  packages (from the image's read-only root) before any command, then only forks;
  everything a command does happens in its own forked child, on copy-on-write memory;
- it is non-dumpable, so code of the same user can neither ptrace it nor read or write its
  memory or /proc files; it ignores every signal that can be ignored; the runner checks
  after every command that it was not stopped or killed, and before every fork it checks
  that nothing changed what a child would inherit from outside (resource limits,
  priority, CPU affinity, thread count); any difference and it exits instead of forking;
- the runner's sweep after each command and its reset between sandboxes kill every other
  process and empty every writable filesystem, as without it.

Protocol (one message per send). Zygote -> runner: {"ready": true, "failed": [names]} once,
then per request {"pid": n} or {"refused": why}, then {"rc": n} when that child ends.
Runner -> zygote: {"argv", "env", "cwd"} with the child's stdout and stderr as SCM_RIGHTS.
"""

import ctypes
import importlib
import json
import os
import resource
import signal
import socket
import sys
import traceback
import types

LIBC = ctypes.CDLL(None, use_errno=True)
UNCATCHABLE = (signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD)


def state():
    """What a forked child inherits that another process of the same user could change."""
    limits = {
        name: resource.getrlimit(getattr(resource, name))
        for name in dir(resource)
        if name.startswith("RLIMIT_")
    }
    return {
        "limits": limits,
        "nice": os.getpriority(os.PRIO_PROCESS, 0),
        "cpus": sorted(os.sched_getaffinity(0)),
        "threads": len(os.listdir("/proc/self/task")),
    }


def differs(before, now):
    for key, value in before.items():
        if now[key] != value:
            return f"the pre-started interpreter's {key} changed"
    return ""


def all_signals(handler):
    """Every signal that can be caught or ignored (SIGCHLD kept: fork needs waitpid)."""
    for sig in signal.valid_signals():
        if sig not in UNCATCHABLE:
            try:
                signal.signal(sig, handler)
            except (OSError, ValueError):
                pass


def preload(name):
    """Import `name` as an evaluator's first use of it would: its top package, then each
    further part as an attribute while the object is a module, or else as a submodule.
    So names a package loads lazily on first access (numpy.random,
    concurrent.futures.ThreadPoolExecutor) are loaded here, not again in every child:
    they were half of a quick evaluation's CPU (docs/sandbox.md)."""
    parts = name.split(".")
    obj = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=2):
        if not isinstance(obj, types.ModuleType):
            return
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(".".join(parts[:i]))


def send(sock, message):
    sock.send(json.dumps(message).encode())


def main():
    sys.dont_write_bytecode = True  # the root is read-only anyway
    LIBC.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 0: no ptrace, /proc/self/* owned by root
    all_signals(signal.SIG_IGN)
    sock = socket.socket(fileno=int(sys.argv[1]))
    umask = os.umask(0o022)
    os.umask(umask)
    failed = []
    for name in json.loads(sys.argv[2]):
        try:
            preload(name)
        except BaseException:  # a package that fails to import is imported by the child
            failed.append(name)
    os.chdir("/")
    baseline = state()
    if baseline["threads"] != 1:  # fork copies one thread: a threaded parent is no clean copy
        send(sock, {"ready": False, "failed": failed, "why": "threads after the imports"})
        return
    send(sock, {"ready": True, "failed": failed})
    while True:
        data, fds, _flags, _addr = socket.recv_fds(sock, 1 << 20, 2)
        if not data:
            return
        why = differs(baseline, state()) or ("" if len(fds) == 2 else "no output pipes")
        if why:
            send(sock, {"refused": why})
            return
        pid = os.fork()
        if pid == 0:
            sock.close()
            child(json.loads(data), fds, umask)  # ends in os._exit
        for fd in fds:
            os.close(fd)
        send(sock, {"pid": pid})
        _, status = os.waitpid(pid, 0)
        send(sock, {"rc": os.waitstatus_to_exitcode(status)})


def child(req, fds, umask):
    """Become `python3 SCRIPT ARGS...` as a fresh interpreter would start it; its exit code."""
    os.setsid()
    devnull = os.open("/dev/null", os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(fds[0], 1)
    os.dup2(fds[1], 2)
    os.closerange(3, 1 << 16)
    LIBC.prctl(4, 1, 0, 0, 0)  # dumpable, as any fresh process (its own /proc files)
    try:  # the child, not the runner, is the OOM killer's first choice (as runner.py does)
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("500")
    except OSError:
        pass
    all_signals(signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as Python starts
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_IGN)
    os.umask(umask)
    env = req["env"]
    os.environ.clear()
    os.environ.update(env)
    os.chdir(req["cwd"])
    script = os.path.abspath(req["argv"][1])
    sys.argv = list(req["argv"][1:])
    extra = [p for p in env.get("PYTHONPATH", "").split(":") if p]
    sys.path[:0] = [os.path.dirname(script), *extra]
    sys.dont_write_bytecode = bool(env.get("PYTHONDONTWRITEBYTECODE"))
    random = sys.modules.get("numpy.random")
    if random is not None:  # numpy does not reseed at fork: each child draws its own
        random.seed()
    for entry in extra:  # what a fresh interpreter's `site` runs first from PYTHONPATH
        site_file = os.path.join(entry, "sitecustomize.py")
        if os.path.isfile(site_file):
            run_file(site_file, "sitecustomize", register=True)
            break
    try:
        code = run_file(script, "__main__")
    except SystemExit as e:
        code = e.code
    finish(code)


def finish(code):
    """End as the interpreter ends (wait for non-daemon threads, run atexit, flush stdout
    and stderr, the exit code of SystemExit) but skip tearing the modules down: with numpy
    loaded that takes 0.4-1.2 s on a loaded machine, and no result depends on it."""
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    threading = sys.modules.get("threading")
    try:
        if threading is not None:
            threading._shutdown()
        import atexit

        atexit._run_exitfuncs()
    except BaseException:
        traceback.print_exc()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(code & 0xFF)


def run_file(path, name, register=False):
    """Run a file as module `name`; an exception is printed as the interpreter prints it
    (from the file's own frames on) and gives exit code 1."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None  # a path ending in .py
    module = importlib.util.module_from_spec(spec)
    if register or name == "__main__":
        sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SystemExit:
        raise
    except BaseException as e:
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != path:
            tb = tb.tb_next
        traceback.print_exception(type(e), e, tb or e.__traceback__)
        return 1
    return 0


main()

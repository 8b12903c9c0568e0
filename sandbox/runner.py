"""The in-container command runner: PID 1 of every dgm-sandbox container.

`docker exec` costs a runc start per command (50-130 ms on 2 cores). Instead, each
container's PID 1 is this small program, fed requests on its stdin (the container's
attached stdin) and answering on its stdout. It is self-contained: the Docker backend
runs it with `python3 -I -c <this file>`, so it must import only the standard library.

Why it is as safe as `docker exec`:
- it runs as the sandbox user with no capabilities, like the commands it starts;
- as PID 1 of the container's pid namespace it cannot be killed from inside (the kernel
  drops signals to a namespace's init that it has no handler for; SIGKILL included);
- it makes itself non-dumpable, so same-uid code can neither ptrace it nor open its
  /proc/1/fd (its stdin/stdout: the control channel);
- after every command it sends SIGKILL to every other process in the container
  (`kill(-1)`), so nothing outlives the command, and reaps the zombies;
- the host still enforces an outer deadline and removes the container past it.

Protocol. Request: one JSON line {"argv", "env", "cwd", "timeout", "cap", "flood"
[, "stdin": n]}, then n raw bytes for the command's stdin (copy-in uses it for tar).
Reply: messages of 1 type byte + 4-byte big-endian length + payload: b"O"/b"E" (stdout /
stderr bytes, at most `cap` of each), then b"X" with JSON {"rc", "timed_out", "flooded",
"killed", "oom", "seen_out", "seen_err"}. A line {"kill": true} while a command runs kills it.
A line {"reset": true} between commands empties the container (see `reset`) and answers
b"X" with JSON {"clean", "why"}.

A request may also carry files in and ask for files out, so that a whole evaluation is one
exchange: "put": {"dest", "files": [[name, size, mode], ...], "size": n} with the n bytes
of the files' contents following the JSON line (before any stdin), written before the
command starts (see `put_files`; a refusal answers b"X" {"rc": 126, "put_error"} and runs
nothing); "fetch": {"path", "cap", "files"}, read after the command and its sweep, sent
before the exit report as b"N" (a file's name relative to the path) then b"F" chunks of
its content, and the report says {"fetched": true} or {"fetch_error": why} (see `fetch`).

A request may carry "zygote": {"source", "preload"}: the source of sandbox/zygote.py and
the packages it imports (a line {"zygote_start": {...}} between commands starts it ahead,
answering b"X" {"started"}). A `python3 SCRIPT ARGS...` command then runs in a child forked
from that pre-started interpreter instead of a new one (see `Zygote`); the exit report
says "zygote": true when it did. The zygote outlives commands and resets (it never runs
their code); anything wrong with it and the command runs as a new process instead.
"""

import ctypes
import fcntl
import json
import os
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import time
from typing import Any

LIBC = ctypes.CDLL(None, use_errno=True)
OOM_FILES = ("/sys/fs/cgroup/memory/memory.oom_control", "/sys/fs/cgroup/memory.events")


def oom_kills():
    for path in OOM_FILES:
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith("oom_kill "):
                        return int(line.split()[1])
        except OSError:
            continue
    return 0


def send(kind, payload):
    data = kind + struct.pack(">I", len(payload)) + payload
    view = memoryview(data)
    while view:
        view = view[os.write(1, view) :]


def reap(keep):
    """Reap every exited child except `keep`'s pid; return keep's exit status if it was reaped."""
    status_of_keep = None
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return status_of_keep
        if pid == 0:
            return status_of_keep
        if keep is not None and pid == keep.pid:
            status_of_keep = os.waitstatus_to_exitcode(status)


def sweep(keep):
    """SIGKILL every other process of the container (but the zygote); reap them. Returns
    `keep`'s exit status if it was reaped here (the killed are zombies, which kill()
    still "finds", so reaping is what ends the loop)."""
    if ZYGOTE.pid is not None:
        return sweep_sparing(keep, ZYGOTE.pid)
    status = None
    for _ in range(1000):
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:  # none left that we may signal (root's processes are not ours)
            break
        reaped = reap(keep)
        status = reaped if reaped is not None else status
        time.sleep(0.0005)
    return status


def sweep_sparing(keep, spare):
    """As `sweep`, but the process `spare` lives: every process is stopped first (a stopped
    process cannot fork), each other one is killed by pid, then `spare` continues."""
    status = None
    for _ in range(1000):
        try:
            os.kill(-1, signal.SIGSTOP)
        except OSError:
            break
        others = [int(p) for p in other_processes() if int(p) != spare]  # zombies too
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.kill(spare, signal.SIGCONT)
        except OSError:
            pass
        reaped = reap(keep)
        status = reaped if reaped is not None else status
        if not others:
            break
        time.sleep(0.0005)
    return status


def prefer_oom_kill():
    """In the child, before exec: make it (not the runner) the OOM killer's first choice.
    Raising one's own oom_score_adj needs no privilege; the runner is single-threaded,
    so preexec_fn is safe here."""
    try:
        LIBC.prctl(4, 1, 0, 0, 0)  # dumpable again (exec would do it anyway), so /proc/self is ours
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("500")
    except OSError:
        pass


def reply_error(rc, text, **extra):
    msg = f"dgm-runner: {text}\n".encode()
    send(b"E", msg)
    send(
        b"X",
        json.dumps(
            {
                "rc": rc,
                "timed_out": False,
                "flooded": False,
                "killed": False,
                "oom": False,
                "seen_out": 0,
                "seen_err": len(msg),
                **extra,
            }
        ).encode(),
    )


# -- files in and out within a command's request -------------------------------------------
#
# As the sandbox user (the runner's own uid), and through no symbolic link: every directory
# on the way is opened relative to the one before with O_NOFOLLOW, so a link planted by an
# earlier command is refused, never followed. Files in go only under the writable
# directories (the tmpfs caps bound them); files out are read after the sweep, when no
# process of the sandbox runs, and capped in bytes, in number and in depth.

WRITABLE_DIRS = ("/testbed", "/agent", "/task", "/out", "/tmp")  # sandbox/protocol.py's
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FETCH_DEPTH = 64  # deeper than this and the copy-out is refused


def take(size, buf):
    """The next `size` bytes of the request stream (`buf` first, then fd 0), and the rest."""
    data = bytearray(buf[:size])
    rest = buf[size:]
    while len(data) < size:
        chunk = os.read(0, min(1 << 20, size - len(data)))
        if not chunk:
            sys.exit(0)  # the host went away
        data += chunk
    return data, rest


def parts_of(name):
    """The components of a relative name; ValueError for an absolute one, `..` or empty."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if name.startswith("/") or not parts or ".." in parts:
        raise ValueError(f"unsafe path {name!r}")
    return parts


def open_dirs(top, parts, create):
    """An fd of the directory top/parts..., each opened without following a link (made
    with mode 0755 when `create` and missing)."""
    fd = os.open(top, DIR_FLAGS)
    try:
        for part in parts:
            if create:
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
            inner = os.open(part, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def put_files(put, data):
    """Write the request's files under put["dest"] as `tar -x` would (parents made, a file
    already there replaced), through no symlink; "" or why it could not."""
    dest = os.path.normpath(put["dest"])
    top = next((d for d in WRITABLE_DIRS if dest == d or dest.startswith(d + "/")), None)
    if top is None:
        return f"{dest} is outside the writable directories {', '.join(WRITABLE_DIRS)}"
    base = [p for p in dest[len(top) :].split("/") if p]
    offset, name = 0, dest
    try:
        for name, size, mode in put["files"]:
            parts = parts_of(name)
            content = memoryview(data)[offset : offset + size]  # no copy
            offset += size
            fd = open_dirs(top, base + parts[:-1], create=True)
            try:
                try:  # replace, never write through: the old one may be a link or a fifo
                    os.unlink(parts[-1], dir_fd=fd)
                except FileNotFoundError:
                    pass
                out = os.open(
                    parts[-1],
                    os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                    mode & 0o777,
                    dir_fd=fd,
                )
            finally:
                os.close(fd)
            try:
                view = content
                while view:
                    view = view[os.write(out, view) :]
            finally:
                os.close(out)
    except (OSError, ValueError) as e:
        return f"{name}: {getattr(e, 'strerror', None) or e}"
    return ""


def fetch(spec):
    """Send the regular files at spec["path"] (one file, or every one under a directory):
    b"N" with the name, then b"F" chunks of the content. Symlinks and special files are left
    out; past spec["cap"] bytes, spec["files"] files or FETCH_DEPTH levels it stops and says
    so. The fields the exit report gets."""
    path = os.path.normpath(spec["path"])
    cap, most = int(spec["cap"]), int(spec["files"])
    parts = [p for p in path.split("/") if p]
    try:
        parent = open_dirs("/", parts[:-1], create=False)
        try:
            st = os.stat(parts[-1], dir_fd=parent, follow_symlinks=False) if parts else None
            if st is not None and stat.S_ISREG(st.st_mode):
                send_file(parent, parts[-1], parts[-1], cap)
                return {"fetched": True}
            if st is None or not stat.S_ISDIR(st.st_mode):
                return {"fetch_error": f"{path} is not a directory or a regular file"}
        finally:
            os.close(parent)
        walk(open_dirs("/", parts, create=False), "", 0, [0, 0], cap, most)
        return {"fetched": True}
    except FetchOver as e:
        return {"fetch_error": str(e)}
    except (OSError, ValueError) as e:
        return {"fetch_error": f"{path}: {getattr(e, 'strerror', None) or e}"}


class FetchOver(Exception):
    """A cap of the copy-out was passed: the message says which."""


NAME_COST = 512  # bytes a file's name counts toward the cap on top of its length, as tar's header


def listing(fd, most):
    """The names in the directory `fd`, sorted; FetchOver past `most` of them, found without
    reading a huge directory whole into memory first."""
    names = []
    with os.scandir(fd) as entries:
        for entry in entries:
            names.append(entry.name)
            if len(names) > most:
                raise FetchOver(f"more than {most} files and folders")
    return sorted(names)


def walk(fd, prefix, depth, seen, cap, most):
    """Send every regular file under the directory `fd` (closed here), one open directory
    per level; `seen` is [bytes, entries] so far: every entry counts, folders too, and a
    file's name (its length and NAME_COST) counts as bytes: names alone must not get past
    the cap."""
    try:
        for entry in listing(fd, most - seen[1]):
            st = os.stat(entry, dir_fd=fd, follow_symlinks=False)
            seen[1] += 1
            if seen[1] > most:
                raise FetchOver(f"more than {most} files and folders")
            if stat.S_ISDIR(st.st_mode):
                if depth >= FETCH_DEPTH:
                    raise FetchOver(f"more than {FETCH_DEPTH} levels of folders")
                inner = os.open(entry, DIR_FLAGS, dir_fd=fd)
                walk(inner, prefix + entry + "/", depth + 1, seen, cap, most)
            elif stat.S_ISREG(st.st_mode):
                seen[0] += st.st_size + len(prefix) + len(entry) + NAME_COST
                if seen[0] > cap:
                    raise FetchOver(f"larger than the cap of {cap} bytes")
                send_file(fd, entry, prefix + entry, cap)
    finally:
        os.close(fd)


def send_file(dir_fd, entry, name, cap):
    """Send one regular file (opened without following a link, never blocking on a fifo;
    anything else is left out)."""
    fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return
        if st.st_size > cap:
            raise FetchOver(f"larger than the cap of {cap} bytes")
        send(b"N", name.encode("utf-8", "surrogateescape"))
        left = st.st_size
        while left > 0:
            chunk = os.read(fd, min(1 << 20, left))
            if not chunk:
                break
            send(b"F", chunk)
            left -= len(chunk)
    finally:
        os.close(fd)


class Payload:
    """The request's stdin bytes, which follow its JSON line on our stdin. They are
    counted, never parsed, and always consumed in full so the next request lines up."""

    def __init__(self, size, buf):
        head = buf[:size]
        self.left = size - len(head)  # still to read from fd 0
        self.pending = bytearray(head)  # read, not yet written to the child
        self.rest = buf[size:]  # bytes after the payload (kill lines)

    def feed(self, chunk):
        part = chunk[: self.left]
        self.left -= len(part)
        self.pending += part
        self.rest += chunk[len(part) :]

    def drain(self, deadline):
        """Read and drop what the host still sends (the child no longer wants it)."""
        self.pending.clear()
        while self.left > 0 and time.monotonic() < deadline:
            readable, _, _ = select.select([0], [], [], 1.0)
            if readable:
                chunk = os.read(0, 65536)
                if not chunk:
                    sys.exit(0)
                self.feed(chunk)
                self.pending.clear()


def forward(fd, fds, open_fds, cap):
    """Read what the command wrote on `fd` and send the host at most `cap` bytes of that
    stream in all, counting every byte seen (fds[fd] = [kind, seen]); at EOF, stop
    watching `fd`."""
    chunk = os.read(fd, 1 << 20)
    if not chunk:
        open_fds.discard(fd)
        return
    kind, seen = fds[fd]
    if seen < cap:
        send(kind, chunk[: cap - seen])
    fds[fd][1] = seen + len(chunk)


# -- the pre-started interpreter ---------------------------------------------------------

ZYGOTE_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    # One BLAS/OpenMP thread: a parent with threads cannot fork a clean copy of itself
    # (and each sandbox has one CPU).
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
ZYGOTE_READY_S = 120.0  # at most this long (and never past the deadline) for its imports


class Zygote:
    """The pre-started interpreter (sandbox/zygote.py), started when a request first asks
    for one, kept across commands and resets while nothing is wrong with it."""

    def __init__(self):
        self.spec: Any = None  # {"source", "preload"} of the running one
        self.broken: Any = None  # a spec whose zygote could not get ready: not tried again
        self.pid: Any = None  # int while one runs
        self.sock: Any = None  # our end of its socket pair while one runs
        self.ready = False

    def spawn(self, req, deadline):
        """The command forked from the zygote, or None: run it as a new process."""
        argv, spec = req["argv"], req["zygote"]
        if len(argv) < 2 or os.path.basename(argv[0]) not in ("python3", "python"):
            return None
        if argv[1].startswith("-") or spec == self.broken:
            return None
        if spec != self.spec:
            self.stop()
            self.spec = spec
        if self.pid is None:
            self.start()
        if not self.ready and not self.wait_ready(deadline):
            return None
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        reply = None
        try:
            command = json.dumps({k: req[k] for k in ("argv", "env", "cwd")}).encode()
            socket.send_fds(self.sock, [command], [out_w, err_w])
            reply = self.receive(max(0.0, min(deadline, time.monotonic() + 30) - time.monotonic()))
        except (OSError, EOFError):
            pass
        finally:
            os.close(out_w)
            os.close(err_w)
        if not reply or "pid" not in reply:
            os.close(out_r)
            os.close(err_r)
            self.stop()
            return None
        return Forked(self, int(reply["pid"]), out_r, err_r)

    def start(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            proc = subprocess.Popen(
                ["python3", "-I", "-c", self.spec["source"], str(theirs.fileno())]
                + [json.dumps(self.spec["preload"])],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd="/",
                env=ZYGOTE_ENV,
                start_new_session=True,
            )
        except (OSError, ValueError, TypeError):
            ours.close()
            self.broken = self.spec
            return
        finally:
            theirs.close()
        self.pid, self.sock, self.ready = proc.pid, ours, False

    def wait_ready(self, deadline):
        try:
            left = min(deadline, time.monotonic() + ZYGOTE_READY_S) - time.monotonic()
            reply = self.receive(max(0.0, left))
        except (OSError, EOFError):
            reply = None
        self.ready = bool(reply and reply.get("ready"))
        if not self.ready:
            if reply is not None:  # it answered "not ready": the next one would too
                self.broken = self.spec
            self.stop()
        return self.ready

    def receive(self, timeout):
        """The zygote's next message, None when none came in `timeout` seconds; EOFError
        when it is gone."""
        readable, _, _ = select.select([self.sock], [], [], timeout)
        if not readable:
            return None
        data = self.sock.recv(1 << 16)
        if not data:
            raise EOFError
        return json.loads(data)

    def check(self):
        """After a command: a zygote that was stopped, traced or killed is replaced."""
        if self.pid is None:
            return
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            state = "X"
        if state in ("T", "t", "Z", "X", "x") or self.tampered():
            self.stop()

    def tampered(self):
        """Whether a process of the sandbox user changed what the zygote's children would
        inherit (it inherited all of it from us: limits, priority, CPUs, scheduler)."""
        z = self.pid
        try:
            with open(f"/proc/{z}/limits") as theirs, open("/proc/self/limits") as ours:
                if theirs.read() != ours.read():
                    return True
            return (
                os.getpriority(os.PRIO_PROCESS, z) != os.getpriority(os.PRIO_PROCESS, 0)
                or os.sched_getaffinity(z) != os.sched_getaffinity(0)
                or os.sched_getscheduler(z) != os.sched_getscheduler(0)
            )
        except OSError:
            return True

    def stop(self):
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
        if self.sock is not None:
            self.sock.close()
        self.pid, self.sock, self.ready = None, None, False

    def prepare(self, spec):
        """Start one for `spec` now (its imports run while the container waits in the
        pool); answers b"X" {"started"} at once."""
        if spec != self.spec:
            self.stop()
            self.spec = spec
        if self.pid is None and spec != self.broken:
            self.start()
        send(b"X", json.dumps({"started": self.pid is not None}).encode())

    def restart(self):
        """After a reset: one was asked for before, so the next sandbox finds it ready."""
        if self.spec is not None and self.spec != self.broken and self.pid is None:
            self.start()


ZYGOTE = Zygote()


class Forked:
    """A command forked by the zygote: what `run` needs of a Popen. The zygote is its
    parent: it reports the exit code; the zygote gone mid-command kills the command."""

    def __init__(self, zygote, pid, out_r, err_r):
        self.zygote = zygote
        self.pid = pid
        self.stdin = None
        self.stdout = os.fdopen(out_r, "rb", buffering=0)
        self.stderr = os.fdopen(err_r, "rb", buffering=0)
        self.returncode = None
        self.pidfd: Any = None
        try:
            self.pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self.pidfd = None

    def exit_fd(self):
        return self.zygote.sock.fileno()

    def exited(self):
        if self.pidfd is None:
            return False
        readable, _, _ = select.select([self.pidfd], [], [], 0)
        return bool(readable)

    def close(self):
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None

    def poll_rc(self):
        return self._rc(0.0)

    def wait(self, timeout):
        rc = self._rc(timeout)
        return -9 if rc is None else rc

    def _rc(self, timeout):
        reap(None)  # its orphans are ours
        if self.returncode is not None or self.zygote.sock is None:
            return self.returncode
        try:
            if self.exited():  # a zygote that does not report it was stopped: it goes on
                os.kill(self.zygote.pid, signal.SIGCONT)
                timeout = max(timeout, 1.0)
            reply = self.zygote.receive(timeout)
        except (OSError, EOFError, ValueError):
            reply = {"rc": -9}
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
            self.zygote.stop()
        if reply is not None and "rc" in reply:
            self.returncode = int(reply["rc"])
        return self.returncode


def run(req, stdin_buf):
    cap, flood = int(req["cap"]), int(req["flood"])
    deadline = time.monotonic() + float(req["timeout"])
    payload = Payload(int(req.get("stdin") or 0), stdin_buf)
    before = oom_kills()
    if not os.path.isdir(req["cwd"]):
        payload.drain(deadline)
        reply_error(126, f"no such working directory {req['cwd']!r}")
        return payload.rest
    proc = ZYGOTE.spawn(req, deadline) if req.get("zygote") and "stdin" not in req else None
    try:
        proc = proc or subprocess.Popen(
            req["argv"],
            env=req["env"],
            cwd=req["cwd"],
            stdin=subprocess.PIPE if "stdin" in req else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=prefer_oom_kill,
        )
    except (OSError, ValueError, TypeError) as e:
        payload.drain(deadline)
        reply_error(
            127 if isinstance(e, FileNotFoundError) else 126,
            f"cannot run {req['argv'][0]!r}: {getattr(e, 'strerror', None) or e}",
        )
        return payload.rest
    child_in = proc.stdin
    if child_in is not None:
        os.set_blocking(child_in.fileno(), False)
    assert proc.stdout is not None and proc.stderr is not None  # both are pipes
    fds: dict[int, list[Any]] = {proc.stdout.fileno(): [b"O", 0], proc.stderr.fileno(): [b"E", 0]}
    for fd in fds:  # fewer, bigger reads for big outputs (tar of a directory)
        try:
            fcntl.fcntl(fd, 1031, 1 << 20)  # F_SETPIPE_SZ
        except OSError:
            pass
    try:  # readable when the process exits (the zygote's report of it): no polling delay
        exit_fd = proc.exit_fd() if isinstance(proc, Forked) else os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        exit_fd = None
    open_fds = set(fds)
    rc = None
    timed_out = flooded = killed = False
    while True:
        if rc is None:
            status = proc.poll_rc() if isinstance(proc, Forked) else reap(proc)
            if status is not None:
                rc = status
                proc.returncode = status
        if rc is not None:
            break
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        if child_in is not None and payload.left == 0 and not payload.pending:
            child_in.close()
            child_in = None
        watch = list(open_fds) + ([exit_fd] if exit_fd is not None else [])
        if payload.left == 0 or len(payload.pending) < (1 << 20):  # backpressure on the host
            watch.append(0)
        wlist = [child_in.fileno()] if child_in is not None and payload.pending else []
        readable, writable, _ = select.select(
            watch, wlist, [], min(left, 0.05 if exit_fd is None else 1.0)
        )
        if writable and child_in is not None:
            try:
                del payload.pending[: os.write(child_in.fileno(), payload.pending[:65536])]
            except BlockingIOError:
                pass
            except BrokenPipeError:  # the child stopped reading: the rest is dropped
                payload.pending.clear()
                child_in.close()
                child_in = None
        for fd in readable:
            if fd == exit_fd:
                continue
            if fd == 0:
                chunk = os.read(0, 65536)
                if not chunk:
                    sys.exit(0)  # the host went away: nothing more will come
                payload.feed(chunk)
                if child_in is None:
                    payload.pending.clear()
                if b'"kill"' in payload.rest:
                    killed = True
                continue
            forward(fd, fds, open_fds, cap)
            if fds[proc.stdout.fileno()][1] + fds[proc.stderr.fileno()][1] > flood:
                flooded = True
        if flooded or killed:
            break
    swept = sweep(None if isinstance(proc, Forked) else proc)
    if rc is None and swept is not None:
        rc = proc.returncode = swept
    if child_in is not None:
        child_in.close()
    if rc is None:
        try:
            rc = proc.wait(5)
        except subprocess.TimeoutExpired:
            rc = -9
    # Whatever the command wrote before it died is still in the pipes.
    end = time.monotonic() + 1.0
    while open_fds and time.monotonic() < end:
        readable, _, _ = select.select(list(open_fds), [], [], 0.05)
        for fd in readable:
            forward(fd, fds, open_fds, cap)
    if isinstance(proc, Forked):
        proc.close()
    elif exit_fd is not None:
        os.close(exit_fd)
    seen_out, seen_err = fds[proc.stdout.fileno()][1], fds[proc.stderr.fileno()][1]
    proc.stdout.close()
    proc.stderr.close()
    reap(None)
    payload.drain(time.monotonic() + 60)
    report = {
        "rc": rc,
        "timed_out": timed_out,
        "flooded": flooded,
        "killed": killed,
        "oom": oom_kills() > before,
        "seen_out": seen_out,
        "seen_err": seen_err,
        "zygote": isinstance(proc, Forked),
    }
    if req.get("fetch"):  # after the sweep: nothing of the command is left to change them
        report.update(fetch(req["fetch"]))
    send(b"X", json.dumps(report).encode())
    ZYGOTE.check()
    return payload.rest


# -- reset: the container back to the state it started in ---------------------------------
#
# Between two sandboxes a recycled container must hold nothing of the first: no process, no
# file, no IPC object, nothing on the directories' own inodes. At start-up (before any
# command) the runner notes every filesystem the sandbox user can write to (the tmpfs
# mounts, /dev/shm, /dev/mqueue; the root is read-only) with the mode, times and extended
# attributes of its top directory. A reset kills every other process and checks that none
# is left, empties those filesystems, restores their top directories, removes every System
# V IPC object, then checks the result against the notes. Anything it cannot restore or
# check makes it answer "not clean", and the host then removes the container instead.

IPC_RMID = 0
IPC_KINDS = {"shm": "shmctl", "sem": "semctl", "msg": "msgctl"}
WRITABLE_FS = ("tmpfs", "mqueue")


def writable_roots():
    """{mount point: (mode, atime_ns, mtime_ns)} of the filesystems we may write to."""
    roots = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            mount_point, mount_opts = fields[4].replace("\\040", " "), fields[5].split(",")
            fstype = fields[fields.index("-") + 1]
            if fstype not in WRITABLE_FS or "rw" not in mount_opts:
                continue
            st = os.lstat(mount_point)  # a file mounted over (e.g. /proc/keys) is no place
            if stat.S_ISDIR(st.st_mode) and os.access(mount_point, os.W_OK):
                roots[mount_point] = (st.st_mode, st.st_atime_ns, st.st_mtime_ns)
    return roots


def other_processes():
    """Every process but the runner and the zygote."""
    spare = str(ZYGOTE.pid)
    return [p for p in os.listdir("/proc") if p.isdigit() and p not in ("1", spare)]


def empty_dir(path):
    """Remove everything under `path`. Nothing else runs now, so plain paths are safe; a
    tree too deep or too long to walk raises, and the container is then not reused."""
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            os.chmod(entry.path, 0o700)  # a candidate may have left it unreadable
            empty_dir(entry.path)
            os.rmdir(entry.path)
        else:
            os.unlink(entry.path)


def remove_ipc():
    for kind, call in IPC_KINDS.items():
        with open(f"/proc/sysvipc/{kind}") as f:
            ids = [int(line.split()[1]) for line in f.readlines()[1:] if line.strip()]
        for ipc_id in ids:
            if kind == "sem":
                getattr(LIBC, call)(ipc_id, 0, IPC_RMID)
            else:
                getattr(LIBC, call)(ipc_id, IPC_RMID, None)


def dirty(roots):
    """What is left that a fresh container would not hold ("" when nothing)."""
    if other_processes():
        return f"processes left: {', '.join(other_processes()[:5])}"
    for kind in IPC_KINDS:
        with open(f"/proc/sysvipc/{kind}") as f:
            if len([line for line in f if line.strip()]) > 1:
                return f"System V {kind} objects left"
    for root, (mode, _atime, _mtime) in roots.items():
        st = os.lstat(root)
        if os.listdir(root):
            return f"files left in {root}"
        if st.st_mode != mode:
            return f"{root} has mode {st.st_mode:o}, not {mode:o}"
        if st.st_uid == os.getuid() and os.listxattr(root):
            return f"extended attributes left on {root}"
    return ""


def restore_times(roots):
    """Our own top directories get their times back, last (reading one moves its atime);
    root's (/dev/shm) we cannot touch."""
    for root, (_mode, atime, mtime) in roots.items():
        if os.lstat(root).st_uid == os.getuid():
            os.utime(root, ns=(atime, mtime))
            st = os.lstat(root)
            if (st.st_atime_ns, st.st_mtime_ns) != (atime, mtime):
                return f"{root} keeps the times of the last sandbox"
    return ""


def reset(roots):
    """Make the container as it started; reply {"clean": bool, "why": str}."""
    if isinstance(roots, str):  # no notes from start-up: nothing to check against
        send(b"X", json.dumps({"clean": False, "why": roots}).encode())
        return
    why = ""
    try:
        for _ in range(20):
            sweep(None)
            if not other_processes():
                break
            time.sleep(0.05)
        remove_ipc()
        for root, (mode, _atime, _mtime) in roots.items():
            owned = os.lstat(root).st_uid == os.getuid()
            if owned:
                os.chmod(root, 0o700)
            empty_dir(root)
            if owned:
                for name in os.listxattr(root):
                    os.removexattr(root, name)
                os.chmod(root, mode & 0o7777)
        why = dirty(roots) or restore_times(roots)
    except (OSError, RecursionError, ValueError) as e:
        why = f"{type(e).__name__}: {e}"
    send(b"X", json.dumps({"clean": not why, "why": why}).encode())
    if not why:
        ZYGOTE.check()
        ZYGOTE.restart()


def main():
    LIBC.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 0: no ptrace, /proc/1/* owned by root
    try:  # before any command: the state a reset goes back to
        roots = writable_roots()
    except (OSError, ValueError, IndexError) as e:
        roots = f"could not list the writable filesystems at start: {e}"
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    buf = b""
    while True:
        while b"\n" not in buf:
            chunk = os.read(0, 65536)
            if not chunk:
                return
            buf += chunk
        line, buf = buf.split(b"\n", 1)
        if not line.strip():
            continue
        req = json.loads(line)
        if req.get("reset"):
            reset(roots)
            continue
        if req.get("zygote_start"):
            ZYGOTE.prepare(req["zygote_start"])
            continue
        if "argv" not in req:
            continue  # a late kill: the command already ended
        try:
            if req.get("put"):
                data, buf = take(int(req["put"]["size"]), buf)
                why = put_files(req["put"], data)
                del data  # not held while the command runs: its memory is the command's
                if why:
                    reply_error(126, f"copy into {req['put']['dest']} failed: {why}", put_error=why)
                    continue
            buf = run(req, buf)
        except Exception as e:  # a bad request must not take the container down
            reply_error(126, f"{type(e).__name__}: {e}")
        buf = b"\n".join(part for part in buf.split(b"\n") if b'"kill"' not in part)


main()

"""Recycled Docker sandboxes: a container handed to the next sandbox holds nothing of the
last one (no file, process, IPC object, nor a changed top directory), and a container the
runner cannot put back as it started is removed instead. Plus the pool's accounting."""

from __future__ import annotations

import threading

import pytest

from sandbox import Limits, Status
from sandbox.docker_backend import DockerBackend
from sandbox.pool import WarmPool

pytestmark = pytest.mark.docker

LIMITS = Limits(timeout_s=20, memory_mb=256, cpus=1.0, pids=64, disk_mb=64)
ROOTS = "/testbed /agent /task /out /tmp /dev/shm /dev/mqueue"

# What a fresh container shows: its writable places (names, modes, owners, and the times
# of the ones the sandbox user owns), its processes, its System V IPC objects, and the
# extended attributes of the top directories.
CENSUS = f"""
import os
for root in "{ROOTS}".split():
    st = os.lstat(root)
    times = (st.st_atime_ns, st.st_mtime_ns) if st.st_uid == os.getuid() else ()
    xattrs = os.listxattr(root) if st.st_uid == os.getuid() else []
    print(root, oct(st.st_mode), st.st_uid, times, xattrs, sorted(os.listdir(root)))
mine = {{os.getpid(), os.getppid()}}
print("processes", sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in mine))
for kind in ("shm", "sem", "msg"):
    print(kind, open(f"/proc/sysvipc/{{kind}}").read().splitlines()[1:])
"""

# Everything a candidate could try to leave behind for the next one.
LITTER = r"""
import ctypes, os, subprocess
libc = ctypes.CDLL(None, use_errno=True)
for root in "/testbed /agent /task /out /tmp /dev/shm".split():
    os.makedirs(f"{root}/deep/er", exist_ok=True)
    open(f"{root}/deep/er/secret", "w").write("answer=42")
    os.symlink("/etc/passwd", f"{root}/link")
    os.mkfifo(f"{root}/fifo")
    os.chmod(f"{root}/deep", 0)
os.close(os.open("/dev/mqueue/q", os.O_CREAT | os.O_RDWR, 0o600))
assert libc.shmget(1234, 4096, 0o1600) >= 0 and libc.semget(99, 1, 0o1600) >= 0
assert libc.msgget(77, 0o1600) >= 0
os.setxattr("/tmp", "user.note", b"from the last candidate")
os.chmod("/out", 0o700)
os.utime("/testbed", (1, 1))
subprocess.Popen(["sleep", "300"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "301"])
    os._exit(0)
print("littered")
"""


@pytest.fixture
def recycling(recycled_backend: DockerBackend) -> DockerBackend:
    return recycled_backend


def census(backend: DockerBackend) -> tuple[str, str]:
    """(the container id, what the census printed) of the next sandbox."""
    with backend.open(LIMITS) as sb:
        r = sb.run(["python3", "-c", CENSUS], workdir="/")
    assert r.status is Status.ok, r.stderr
    return sb.id, r.stdout


def test_a_recycled_container_holds_nothing_of_the_last_sandbox(recycling: DockerBackend) -> None:
    recycling.warm(LIMITS)
    first_id, pristine = census(recycling)
    recycling.pool.wait_idle(60)
    with recycling.open(LIMITS) as sb:
        assert sb.id == first_id, "the pool should hand the container out again"
        r = sb.run(["python3", "-c", LITTER], workdir="/")
        assert r.stdout.strip() == "littered", r.stderr
    recycling.pool.wait_idle(60)
    again_id, after = census(recycling)
    assert again_id == first_id
    assert after == pristine


def test_a_container_that_cannot_be_put_back_is_removed(recycling: DockerBackend) -> None:
    recycling.pool.wait_idle(60)
    with recycling.open(LIMITS) as sb:
        used = sb.id
        # Deeper than the runner will walk: it says "not clean", and the host removes it.
        r = sb.run(
            ["python3", "-c", "import os\nfor _ in range(1200):\n    os.mkdir('d'); os.chdir('d')"],
            workdir="/tmp",
        )
        assert r.status is Status.ok, r.stderr
    recycling.pool.wait_idle(60)
    next_id, _ = census(recycling)
    assert next_id != used
    recycling.pool.wait_idle(60)
    assert not recycling.client.api.containers(all=True, filters={"id": used})


def test_a_sandbox_closed_mid_command_is_removed(recycling: DockerBackend) -> None:
    recycling.pool.wait_idle(60)
    sb = recycling.open(LIMITS)
    used = sb.id
    runner = threading.Thread(target=sb.run, args=(["sleep", "30"],), kwargs={"timeout_s": 60})
    runner.start()
    try:
        while not sb._lock.locked():
            pass
        sb.close()  # another thread: the runner is busy, so the container cannot be reset
    finally:
        runner.join(90)
    recycling.pool.wait_idle(60)
    assert not recycling.client.api.containers(all=True, filters={"id": used})


def test_the_pool_counts_what_is_out_and_never_overfills() -> None:
    made: list[str] = []
    gone: list[str] = []
    verdict = {"clean": True}

    def create(key: str) -> str:
        made.append(f"{key}-{len(made)}")
        return made[-1]

    pool: WarmPool[str] = WarmPool(create, gone.append, 2, recycle=lambda _cid: verdict["clean"])
    try:
        for _ in range(10):
            a, b = pool.take("k"), pool.take("k")
            pool.give_back(a)
            pool.give_back(b)
            pool.wait_idle(10)
        assert len(made) == 2 and gone == []
        verdict["clean"] = False
        pool.give_back(pool.take("k"))
        pool.wait_idle(10)
        assert len(gone) == 1 and len(made) == 3  # removed, and replaced
        assert pool.ready_count("k") == 2
    finally:
        pool.close()
    assert sorted(gone) == sorted(made)

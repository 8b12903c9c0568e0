"""Run leases: one owner per run, on SQLite and PostgreSQL, under real threads and processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from archive import Archive, LeaseHeld, hold_run, open_archive
from archive import lease as leases

ROOT = Path(__file__).resolve().parents[2]

# A process that tries to take the lease, says whether it won, then waits to be told to go
# (so a winner is still alive while the others try).
CONTENDER = """
import sys
from archive import LeaseHeld, open_archive
from archive.lease import new_holder
a = open_archive(sys.argv[1], create=False)
holder = new_holder()
sys.stdout.write("ready\\n"); sys.stdout.flush()
sys.stdin.readline()  # the start signal: every contender goes at once
try:
    a.acquire_lease(sys.argv[2], holder, float(sys.argv[3]))
    print("won", holder, flush=True)
except LeaseHeld as e:
    print("held", e.lease.holder, flush=True)
sys.stdin.readline()
"""


def contenders(url: str, run_id: str, n: int, ttl_s: float = 60.0) -> list[subprocess.Popen[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONTENDER, url, run_id, str(ttl_s)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline() == "ready\n"
    return procs


def go(procs: list[subprocess.Popen[str]]) -> list[list[str]]:
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("\n")
        p.stdin.flush()
    return [p.stdout.readline().split() for p in procs]  # type: ignore[union-attr]


def finish(procs: list[subprocess.Popen[str]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.communicate("\n", timeout=30)


def test_threads_at_the_same_instant_exactly_one_wins(archive: Archive) -> None:
    run = archive.create_run("r")
    n = 8
    barrier = threading.Barrier(n)
    outcomes: list[tuple[str, str]] = []
    lock = threading.Lock()

    def contend() -> None:
        holder = leases.new_holder()
        barrier.wait()
        try:
            archive.acquire_lease(run, holder)
            result = ("won", holder)
        except LeaseHeld as e:
            result = ("held", e.lease.holder)
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=contend) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    winners = [h for kind, h in outcomes if kind == "won"]
    assert len(outcomes) == n and len(winners) == 1
    assert {h for kind, h in outcomes if kind == "held"} == set(winners)  # all name the winner
    lease = archive.run_lease(run)
    assert lease is not None and lease.holder == winners[0]


def test_processes_at_the_same_instant_exactly_one_wins(archive_url: str) -> None:
    a = open_archive(archive_url)
    run = a.create_run("r")
    procs = contenders(archive_url, run, 4)
    try:
        results = go(procs)
    finally:
        finish(procs)
    winners = [r[1] for r in results if r[0] == "won"]
    assert len(winners) == 1, results
    assert all(r == ["held", winners[0]] for r in results if r[0] == "held")
    a.close()


def test_the_message_names_the_holder_host_pid_and_since(archive: Archive) -> None:
    run = archive.create_run("r")
    archive.acquire_lease(run, "elsewhere.example:4242:abc", ttl_s=60)
    with pytest.raises(LeaseHeld) as caught:
        archive.acquire_lease(run, leases.new_holder())
    msg = str(caught.value)
    assert "\n" not in msg
    assert (
        f"run {run} is being run right now by process 4242 on host elsewhere.example since " in msg
    )
    assert "stop that process first" in msg and "expires at" in msg


def test_an_expired_lease_is_taken_and_a_live_one_is_not(archive: Archive) -> None:
    run = archive.create_run("r")
    first, second = leases.new_holder(), leases.new_holder()  # both this (live) process
    archive.acquire_lease(run, first, ttl_s=0.3)
    with pytest.raises(LeaseHeld):
        archive.acquire_lease(run, second, ttl_s=0.3)
    time.sleep(0.4)
    taken = archive.acquire_lease(run, second, ttl_s=60)
    assert taken.holder == second
    assert not archive.renew_lease(run, first)  # the old holder learns it lost the run
    assert archive.acquire_lease(run, second).holder == second  # re-acquiring one's own lease


def test_renewal_keeps_a_short_lease_held(archive: Archive) -> None:
    run = archive.create_run("r")
    with hold_run(archive, run, ttl_s=0.6, every_s=0.1) as held:
        first = archive.run_lease(run)
        time.sleep(1.5)  # more than twice the TTL: only renewals keep it
        with pytest.raises(LeaseHeld):
            archive.acquire_lease(run, leases.new_holder())
        now = archive.run_lease(run)
        assert first is not None and now is not None and now.holder == held.holder
        assert now.expires_at > first.expires_at + 0.5 and now.acquired_at == first.acquired_at
        assert not held.lost.is_set()


def test_release_at_a_clean_end_frees_the_run_at_once(archive: Archive) -> None:
    run = archive.create_run("r")
    with hold_run(archive, run):
        assert archive.run_lease(run) is not None
    assert archive.run_lease(run) is None
    with hold_run(archive, run):  # no wait for any expiry
        pass
    with pytest.raises(ValueError), hold_run(archive, run):  # an error still releases
        raise ValueError("boom")
    assert archive.run_lease(run) is None


def test_a_holder_that_loses_its_lease_is_told(archive: Archive) -> None:
    run = archive.create_run("r")
    called = threading.Event()
    with hold_run(archive, run, ttl_s=60, every_s=0.05) as held:
        held.on_lost = called.set
        with archive._write() as conn:  # another process takes it over (as after a stall)
            pk = archive.run_pk(conn, run)
            assert leases.take_over(conn, pk, held.holder, "other:1:x", 60, time.time())
        assert called.wait(10) and held.lost.is_set()
    assert archive.run_lease(run).holder == "other:1:x"  # type: ignore[union-attr]  # not released by the loser


def test_a_dead_holder_on_this_host_is_taken_over_at_once(archive_url: str) -> None:
    a = open_archive(archive_url)
    run = a.create_run("r")
    (proc,) = contenders(archive_url, run, 1, ttl_s=3600)
    try:
        ((kind, holder),) = go([proc])
        assert kind == "won"
        with pytest.raises(LeaseHeld):  # alive: held
            a.acquire_lease(run, leases.new_holder())
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    mine = leases.new_holder()
    assert a.acquire_lease(run, mine).holder == mine  # long before its hour-long TTL
    a.close()


def test_a_dead_looking_holder_on_another_host_waits_for_expiry(archive: Archive) -> None:
    run = archive.create_run("r")
    archive.acquire_lease(run, "another-host:999999:abc", ttl_s=0.3)  # no such pid here: irrelevant
    with pytest.raises(LeaseHeld):
        archive.acquire_lease(run, leases.new_holder())
    time.sleep(0.4)
    archive.acquire_lease(run, leases.new_holder())


def test_several_dead_holder_takers_race_and_one_wins(archive_url: str) -> None:
    a = open_archive(archive_url)
    run = a.create_run("r")
    a.acquire_lease(run, "placeholder:1:x", ttl_s=3600)
    with a._write() as conn:  # a holder on this host whose process is gone
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
        )
        gone = f"{leases.socket.gethostname()}:{int(dead.stdout)}:dead"
        assert leases.take_over(
            conn, a.run_pk(conn, run), "placeholder:1:x", gone, 3600, time.time()
        )
    procs = contenders(archive_url, run, 4)
    try:
        results = go(procs)
    finally:
        finish(procs)
    winners = [r[1] for r in results if r[0] == "won"]
    assert len(winners) == 1, results
    assert all(r == ["held", winners[0]] for r in results if r[0] == "held")
    a.close()

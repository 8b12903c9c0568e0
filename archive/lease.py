"""One owner per run: a lease row in the archive, taken with one conditional write.

    with hold_run(archive, run_id) as lease:   # LeaseHeld (an ArchiveError) if another holds it
        ...                                    # renewed in the background while this runs

A holder is `host:pid:token` (the token tells two holders in one process apart). Taking the
lease is a single INSERT ... ON CONFLICT DO UPDATE ... WHERE (expired OR same holder), on
SQLite and PostgreSQL alike: the database serialises the writers, and the row count says
who won. A lease whose holder lives on this host under a dead pid is taken over at once
(compare-and-swap on the old holder); anywhere else a dead holder's lease is taken once it
expires. Times are the writers' clocks: hosts sharing a PostgreSQL archive need clocks
agreeing to well within `TTL_S`.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection, delete, select, update

from archive.codestore import dialect_insert
from archive.errors import ArchiveError
from archive.models import RunLease

TTL_S = 60.0  # a killed holder's run can be taken over from another host after this


@dataclass(frozen=True)
class LeaseInfo:
    run_id: str
    holder: str
    acquired_at: float
    expires_at: float

    @property
    def host(self) -> str:
        return self.holder.rsplit(":", 2)[0]

    @property
    def pid(self) -> int | None:
        parts = self.holder.rsplit(":", 2)
        return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


class LeaseHeld(ArchiveError):
    """Another live process holds the run's lease."""

    def __init__(self, lease: LeaseInfo) -> None:
        self.lease = lease
        since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(lease.acquired_at))
        until = time.strftime("%H:%M:%S UTC", time.gmtime(lease.expires_at))
        super().__init__(
            f"run {lease.run_id} is being run right now by process {lease.pid} on host "
            f"{lease.host} since {since}: stop that process first (Ctrl-C), or, if it died on "
            f"another host, resume after its lease expires at {until}"
        )


def new_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(6)}"


def dead_here(lease: LeaseInfo) -> bool:
    """True when the holder ran on this host and its process is gone."""
    if lease.host != socket.gethostname() or lease.pid is None or lease.pid == os.getpid():
        return False
    try:
        os.kill(lease.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


# -- the statements (each runs inside the caller's write transaction) -----------------------


def read(conn: Connection, run_pk: int, run_id: str) -> LeaseInfo | None:
    row = conn.execute(select(RunLease).where(RunLease.run_pk == run_pk)).first()
    return None if row is None else LeaseInfo(run_id, row.holder, row.acquired_at, row.expires_at)


def try_acquire(conn: Connection, run_pk: int, holder: str, ttl_s: float, now: float) -> bool:
    """The one atomic conditional write: insert, or take over an expired (or own) lease."""
    stmt = dialect_insert(conn)(RunLease).values(
        run_pk=run_pk, holder=holder, acquired_at=now, expires_at=now + ttl_s
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["run_pk"],
        set_={"holder": holder, "acquired_at": now, "expires_at": now + ttl_s},
        where=(RunLease.expires_at <= now) | (RunLease.holder == holder),
    )
    # RETURNING, not rowcount: drivers do not all report a row count for an INSERT
    return conn.execute(stmt.returning(RunLease.run_pk)).first() is not None


def take_over(
    conn: Connection, run_pk: int, old: str, holder: str, ttl_s: float, now: float
) -> bool:
    """Compare-and-swap from a holder known to be dead: only one taker can match `old`."""
    stmt = (
        update(RunLease)
        .where(RunLease.run_pk == run_pk, RunLease.holder == old)
        .values(holder=holder, acquired_at=now, expires_at=now + ttl_s)
    )
    return conn.execute(stmt).rowcount == 1  # an UPDATE's row count is reliable everywhere


def renew(conn: Connection, run_pk: int, holder: str, ttl_s: float, now: float) -> bool:
    stmt = (
        update(RunLease)
        .where(RunLease.run_pk == run_pk, RunLease.holder == holder)
        .values(expires_at=now + ttl_s)
    )
    return conn.execute(stmt).rowcount == 1


def release(conn: Connection, run_pk: int, holder: str) -> None:
    conn.execute(delete(RunLease).where(RunLease.run_pk == run_pk, RunLease.holder == holder))


# -- holding a run ---------------------------------------------------------------------------


class LeaseStore(Protocol):
    def acquire_lease(self, run_id: str, holder: str, ttl_s: float = TTL_S) -> LeaseInfo: ...
    def renew_lease(self, run_id: str, holder: str, ttl_s: float = TTL_S) -> bool: ...
    def release_lease(self, run_id: str, holder: str) -> None: ...


class Renewer:
    """Renews a held lease every `every_s` in its own thread (one short write each); calls
    `on_lost` once if the lease was taken (the holder stalled past its expiry)."""

    def __init__(
        self, store: LeaseStore, run_id: str, holder: str, ttl_s: float, every_s: float
    ) -> None:
        self.store, self.run_id, self.holder = store, run_id, holder
        self.ttl_s, self.every_s = ttl_s, every_s
        self.on_lost: Callable[[], None] | None = None
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="dgm-lease", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                held = self.store.renew_lease(self.run_id, self.holder, self.ttl_s)
            except ArchiveError:  # a busy or unreachable archive: try again next tick
                continue
            if not held:
                self.lost.set()
                if self.on_lost is not None:
                    self.on_lost()
                return


@contextmanager
def hold_run(
    store: LeaseStore, run_id: str, ttl_s: float = TTL_S, every_s: float | None = None
) -> Iterator[Renewer]:
    """Own `run_id` for the duration: acquire (or raise LeaseHeld), renew, release at the end."""
    holder = new_holder()
    store.acquire_lease(run_id, holder, ttl_s)
    renewer = Renewer(store, run_id, holder, ttl_s, every_s if every_s is not None else ttl_s / 4)
    renewer.start()
    try:
        yield renewer
    finally:
        renewer.stop()
        if not renewer.lost.is_set():
            store.release_lease(run_id, holder)

"""Two hosts on this machine, for the tests of a cluster across hosts: the head host (this
machine's own network namespace, at HEAD_IP on a private link) and a worker host (a network
namespace of the test's, at WORKER_IP, whose only way out is that link: a veth pair). The
head host runs the Ray head, the driver (with its gateway hub) and a PostgreSQL server of
the test's own (restarted by a fault; the shared test server is never touched); the worker
host runs a raylet that advertises `dgm_sandbox`.

Everything is created under names and addresses of its own (a /24 of 10.213.0.0/16 no
interface of this machine uses) and removed on the way out, on failure too: the namespace,
the veth pair, the PostgreSQL server and its folder. Nothing else (Docker's bridge, other
interfaces, iptables) is touched; the two hosts reach each other without forwarding.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dgm.executors.cluster_state import free_port


def sh(*cmd: str) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {done.stderr.strip()}")
    return done.stdout


@dataclass
class Link:
    """The private link between the head host (this namespace) and the worker host."""

    netns: str
    head_if: str  # the head's end of the veth pair
    head_ip: str
    worker_ip: str

    @property
    def on_worker(self) -> list[str]:
        """The prefix of a command run on the worker host."""
        return ["ip", "netns", "exec", self.netns]

    def down(self) -> None:
        sh("ip", "link", "set", self.head_if, "down")

    def up(self) -> None:
        sh("ip", "link", "set", self.head_if, "up")

    def worker_netns_inode(self) -> int:
        return os.stat(f"/run/netns/{self.netns}").st_ino


def _free_subnet() -> int:
    used = sh("ip", "-4", "-o", "addr")
    for third in [os.getpid() % 200 + 20, *range(20, 250)]:
        if f"10.213.{third}." not in used:
            return third
    raise RuntimeError("no free /24 in 10.213.0.0/16")


@contextmanager
def two_hosts() -> Iterator[Link]:
    tag = f"{os.getpid() % 100000}"
    third = _free_subnet()
    link = Link(f"dgm-w{tag}", f"dgmh{tag}", f"10.213.{third}.1", f"10.213.{third}.2")
    worker_if = f"dgmw{tag}"
    try:
        sh("ip", "netns", "add", link.netns)
        sh("ip", "link", "add", link.head_if, "type", "veth", "peer", "name", worker_if)
        sh("ip", "link", "set", worker_if, "netns", link.netns)
        sh("ip", "addr", "add", f"{link.head_ip}/24", "dev", link.head_if)
        sh("ip", "link", "set", link.head_if, "up")
        w = link.on_worker
        sh(*w, "ip", "link", "set", "lo", "up")
        sh(*w, "ip", "addr", "add", f"{link.worker_ip}/24", "dev", worker_if)
        sh(*w, "ip", "link", "set", worker_if, "up")
        # the worker's only route out is the link (Ray asks a route for its own address)
        sh(*w, "ip", "route", "add", "default", "via", link.head_ip)
        yield link
    finally:
        subprocess.run(["ip", "netns", "del", link.netns], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", link.head_if], capture_output=True, check=False)


class Postgres:
    """A PostgreSQL server of the test's own on the head host, listening on the link only."""

    def __init__(self, host: str) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)
        if not bins:
            raise RuntimeError("no PostgreSQL server binaries in /usr/lib/postgresql")
        self.bin, self.host, self.port = bins[-1], host, free_port()
        self.data = Path(tempfile.mkdtemp(prefix="dgm-pg-"))
        shutil.chown(self.data, "postgres", "postgres")
        self._as_pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {host.rsplit('.', 1)[0]}.0/24 trust\n")
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/postgres"

    def _as_pg(self, tool: str, *args: str) -> None:
        sh("runuser", "-u", "postgres", "--", str(self.bin / tool), *args)

    def _ctl(self, action: str, *args: str) -> None:
        options = f"-h {self.host} -p {self.port} -k {self.data} -c fsync=off"
        log = str(self.data / "server.log")
        self._as_pg("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-t", "30", "-o", options,
                    *args, action)  # fmt: skip

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        """Every connection is cut (a fast shutdown), then the server starts again."""
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        try:
            self._ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.data, ignore_errors=True)


def create_database(server_url: str, name: str) -> str:
    """A new empty database on the server at `server_url`; its URL."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def wait_until(what: str, check: Callable[[], object], timeout_s: float) -> None:
    """Poll `check()` until it is true, or fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out ({timeout_s:g} s) waiting for {what}")
        time.sleep(0.2)

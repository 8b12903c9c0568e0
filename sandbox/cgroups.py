"""A per-sandbox cgroup for the local backend (root only): memory (+swap) limit, pids
limit, CPU quota, and the OOM-kill counter. cgroup v1 and v2. When cgroups are not
writable, `create` returns None and the local backend falls back to rlimits."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PARENT = "dgm-sandbox"


@dataclass
class Cgroup:
    """The directories of one sandbox's cgroup (one per controller on v1, one on v2)."""

    dirs: list[Path]
    v2: bool

    @property
    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def oom_kills(self) -> int:
        name = "memory.events" if self.v2 else "memory.oom_control"
        for d in self.dirs:
            f = d / name
            if f.exists():
                m = re.search(r"oom_kill (\d+)", f.read_text())
                return int(m.group(1)) if m else 0
        return 0

    def pids(self) -> list[int]:
        found: set[int] = set()
        for f in self.procs_files:
            try:
                found |= {int(p) for p in Path(f).read_text().split()}
            except OSError:
                pass
        return sorted(found)

    def remove(self) -> None:
        """Kill what is left in it and remove it."""
        for _ in range(50):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)
        for d in self.dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def find(name: str) -> Cgroup | None:
    """The existing cgroup called `name` (a leftover of a crashed owner), if any."""
    v2 = (ROOT / "cgroup.controllers").exists()
    dirs = (
        [ROOT / PARENT / name]
        if v2
        else [ROOT / c / PARENT / name for c in ("memory", "pids", "cpu")]
    )
    found = [d for d in dirs if d.is_dir()]
    return Cgroup(found, v2=v2) if found else None


def create(name: str, memory_mb: int, pids: int, cpus: float) -> Cgroup | None:
    if os.geteuid() != 0 or not ROOT.is_dir():
        return None
    try:
        if (ROOT / "cgroup.controllers").exists():
            return _create_v2(name, memory_mb, pids, cpus)
        return _create_v1(name, memory_mb, pids, cpus)
    except OSError:
        return None


def _create_v1(name: str, memory_mb: int, pids: int, cpus: float) -> Cgroup | None:
    dirs = {c: ROOT / c / PARENT / name for c in ("memory", "pids", "cpu")}
    if not all((ROOT / c).is_dir() for c in dirs):
        return None
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    cg = Cgroup(list(dirs.values()), v2=False)
    try:
        limit = str(memory_mb << 20)
        (dirs["memory"] / "memory.limit_in_bytes").write_text(limit)
        memsw = dirs["memory"] / "memory.memsw.limit_in_bytes"
        if memsw.exists():
            memsw.write_text(limit)
        (dirs["pids"] / "pids.max").write_text(str(pids))
        (dirs["cpu"] / "cpu.cfs_period_us").write_text("100000")
        (dirs["cpu"] / "cpu.cfs_quota_us").write_text(str(int(cpus * 100000)))
    except OSError:
        cg.remove()
        raise
    return cg


def _create_v2(name: str, memory_mb: int, pids: int, cpus: float) -> Cgroup | None:
    parent = ROOT / PARENT
    parent.mkdir(exist_ok=True)
    wanted = {"memory", "pids", "cpu"}
    if not wanted <= set((ROOT / "cgroup.controllers").read_text().split()):
        return None
    for d in (ROOT, parent):
        enabled = set((d / "cgroup.subtree_control").read_text().split())
        for c in wanted - enabled:
            (d / "cgroup.subtree_control").write_text(f"+{c}")
    d = parent / name
    d.mkdir(exist_ok=True)
    cg = Cgroup([d], v2=True)
    try:
        (d / "memory.max").write_text(str(memory_mb << 20))
        (d / "memory.swap.max").write_text("0")
        (d / "pids.max").write_text(str(pids))
        (d / "cpu.max").write_text(f"{int(cpus * 100000)} 100000")
    except OSError:
        cg.remove()
        raise
    return cg

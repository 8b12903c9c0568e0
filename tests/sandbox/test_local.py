"""Local backend specifics: refusal without bubblewrap, --unsafe-local warnings, cleanup."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox import SandboxError, Status, open_backend
from sandbox.local_backend import UnsafeLocalWarning
from tests.sandbox.conftest import SMALL, require_bwrap


def test_refuses_without_bubblewrap_unless_unsafe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on PATH
    with pytest.raises(SandboxError, match="--unsafe-local"):
        open_backend("local")
    monkeypatch.setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    monkeypatch.setattr(
        "sandbox.local_backend.shutil.which",
        lambda name: None if name == "bwrap" else f"/usr/bin/{name}",
    )
    with open_backend("local", unsafe_local=True) as backend, backend.open(SMALL) as sb:
        sb.put_files({"hello.txt": b"hi"}, "/testbed")
        with pytest.warns(UnsafeLocalWarning):
            r = sb.run("cat hello.txt", timeout_s=10)
        with pytest.warns(UnsafeLocalWarning):
            sb.run("true", timeout_s=10)
        assert r.status is Status.ok and r.stdout == "hi"
        with pytest.warns(UnsafeLocalWarning):
            slow = sb.run("sleep 5", timeout_s=0.5)
        assert slow.status is Status.timeout


@pytest.mark.bwrap
def test_close_leaves_nothing_behind() -> None:
    require_bwrap()
    with open_backend("local") as backend:
        sb = backend.open(SMALL)
        sb.run("echo x > /testbed/f", timeout_s=10)
        host_dir = sb.dir  # type: ignore[attr-defined]
        cgroup = sb.cgroup  # type: ignore[attr-defined]
        sb.close()
        sb.close()  # idempotent
    assert not host_dir.exists()
    if cgroup is not None:
        assert all(not d.exists() for d in cgroup.dirs)
    with pytest.raises(SandboxError):
        sb.get_files("/testbed")
    assert sb.run("true").status is Status.sandbox_error


@pytest.mark.bwrap
def test_a_crashed_owner_leaves_nothing_after_the_next_backend() -> None:
    require_bwrap()
    import subprocess
    import sys

    code = (
        "import os\n"
        "from sandbox import open_backend\n"
        "sb = open_backend('local').open()\n"
        "sb.run('echo x > /testbed/f')\n"
        "print(sb.dir, flush=True)\n"
        "os._exit(9)\n"
    )
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=root
    )
    left = Path(proc.stdout.strip())
    assert left.name.startswith("dgm-sandbox-") and left.exists(), proc.stderr
    with open_backend("local") as backend:
        assert backend.orphans_removed >= 1  # type: ignore[attr-defined]
    assert not left.exists()
    assert str(left) not in Path("/proc/mounts").read_text()
    from sandbox import cgroups

    assert cgroups.find(left.name) is None

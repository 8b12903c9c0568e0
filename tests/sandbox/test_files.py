"""Files in and out: exact bytes both ways, nested paths, errors that leave the sandbox usable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sandbox import SandboxBackend, SandboxError, Status
from tests.sandbox.conftest import SMALL

pytestmark = pytest.mark.docker


def test_round_trip_of_many_binary_files(backend: SandboxBackend, tmp_path: Path) -> None:
    files = {f"d{i % 3}/sub/f{i}.bin": os.urandom(1000 * i) for i in range(40)}  # ~0.8 MB
    src = tmp_path / "src"
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    (src / "run.sh").write_text("#!/bin/sh\necho ran\n")
    (src / "run.sh").chmod(0o755)
    with backend.open(SMALL) as sb:
        sb.put_dir(src, "/testbed")
        sb.put_files({"p.md": b"problem", "deep/er/x.txt": b"x"}, "/task")
        assert sb.run("./run.sh", timeout_s=10).stdout == "ran\n"
        got = sb.get_files("/testbed")
        assert got == {**files, "run.sh": b"#!/bin/sh\necho ran\n"}
        assert sb.get_files("/task") == {"p.md": b"problem", "deep/er/x.txt": b"x"}
        assert sb.get_files("/task/deep/er/x.txt") == {"x.txt": b"x"}
        sb.get_dir("/testbed/d1", tmp_path / "back")
    assert {
        p.relative_to(tmp_path / "back").as_posix()
        for p in (tmp_path / "back").rglob("*")
        if p.is_file()
    } == {n.removeprefix("d1/") for n in files if n.startswith("d1/")}


def test_bad_copies_raise_and_leave_the_sandbox_usable(backend: SandboxBackend) -> None:
    with backend.open(SMALL) as sb:
        with pytest.raises(SandboxError):
            sb.put_files({"x": b"1"}, "/etc")
        with pytest.raises(SandboxError):
            sb.put_files({"../escape": b"1"}, "/testbed")
        with pytest.raises(SandboxError):
            sb.put_files({"big": b"0" * ((SMALL.disk_mb + 1) << 20)}, "/out")
        with pytest.raises(SandboxError):
            sb.get_files("/testbed/missing")
        r = sb.run("echo usable; ls /out | wc -l", timeout_s=10)
        assert r.status is Status.ok and r.stdout.split()[0] == "usable"

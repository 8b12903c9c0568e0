"""`dgm sandbox run|build|doctor` as a user calls them (a real subprocess, a real engine)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.sandbox.conftest import BACKENDS

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]  # each CLI call may take 180 s
ROOT = Path(__file__).resolve().parents[2]
Dgm = Callable[..., "subprocess.CompletedProcess[str]"]


def dgm_process(*args: str) -> subprocess.CompletedProcess[str]:
    """The real thing: a separate process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-c", "from dgm.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        env=dict(os.environ),
    )


@pytest.fixture
def dgm(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Dgm:
    """`dgm ARGS` in this process (the CLI's import is slow): (exit code, stdout, stderr)."""
    from dgm.cli import main

    def call(*args: str) -> subprocess.CompletedProcess[str]:
        monkeypatch.setattr(sys, "argv", ["dgm", *args])
        code = 0
        try:
            main()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, out, err)

    return call


def test_run_in_a_real_process_passes_the_exit_code() -> None:
    r = dgm_process("sandbox", "run", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (r.returncode, r.stdout, r.stderr.strip()) == (3, "out\n", "err")


@pytest.mark.parametrize("backend", BACKENDS)
def test_run_passes_exit_codes_through(dgm: Dgm, backend: str) -> None:
    r = dgm(
        "sandbox", "run", "--backend", backend, "--", "sh", "-c", "echo out; echo err >&2; exit 3"
    )
    assert (r.returncode, r.stdout, r.stderr.strip()) == (3, "out\n", "err")
    t = dgm("sandbox", "run", "--backend", backend, "--timeout", "1", "--", "sleep", "30")
    assert t.returncode == 124 and "timeout" in t.stderr
    m = dgm(
        "sandbox",
        "run",
        "--backend",
        backend,
        "--memory",
        "128",
        "--",
        "python3",
        "-c",
        "x = bytearray(1 << 30)",
    )
    assert m.returncode == 137 and "oom" in m.stderr


def test_run_copies_workdir_in(dgm: Dgm, tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("payload")
    r = dgm("sandbox", "run", "--workdir", str(tmp_path), "--", "sh", "-c", "pwd; cat data.txt")
    assert (r.returncode, r.stdout) == (0, "/testbed\npayload")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["sandbox", "run", "--backend", "nope", "--", "true"], "unknown backend"),
        (["sandbox", "run"], "no command"),
        (["sandbox", "run", "--memory", "1", "--", "true"], "invalid limit 'memory_mb'"),
        (["sandbox", "run", "--workdir", "/does/not/exist", "--", "true"], "not a directory"),
    ],
)
def test_bad_input_is_one_line_exit_2(dgm: Dgm, args: list[str], needle: str) -> None:
    r = dgm(*args)
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_missing_engine_says_how_to_start_one(
    dgm: Dgm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    r = dgm("sandbox", "run", "--", "true")
    assert r.returncode == 2 and "scripts/dockerd.sh" in r.stderr and "--sandbox local" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_build_reuses_an_unchanged_image_quickly(dgm: Dgm) -> None:
    start = time.monotonic()
    r = dgm("sandbox", "build")
    assert r.returncode == 0 and "reused" in r.stderr, r.stderr
    assert time.monotonic() - start < 30


def test_doctor_reports_a_working_engine(dgm: Dgm) -> None:
    r = dgm("sandbox", "doctor")
    assert r.returncode == 0, r.stdout + r.stderr
    for needle in ("docker engine", "sandbox image", "sandbox run", "bubblewrap"):
        assert needle in r.stdout

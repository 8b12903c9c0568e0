"""Both backends agree: the same commands end with the same status and exit code, the same
bad copies are refused, and a sandbox gets the same environment. The mapping itself
(sandbox/backend_base.py) is checked case by case first."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from sandbox import SandboxBackend, SandboxError, Status
from sandbox.backend_base import exit_status, stopped_by_deadline
from sandbox.protocol import BASE_ENV, SANDBOX_UID, SOCKET_ENV
from tests.sandbox.conftest import SMALL


@pytest.mark.parametrize(
    ("rc", "timed_out", "oom", "expected"),
    [
        (0, False, False, (Status.ok, 0)),
        (3, False, False, (Status.exit_code, 3)),
        (124, False, False, (Status.exit_code, 124)),  # a command may exit 124 itself
        (128, False, True, (Status.exit_code, 128)),  # not a signal: OOM does not apply
        (-9, False, False, (Status.killed, 137)),  # Python's "killed by signal 9"
        (137, False, False, (Status.killed, 137)),  # a shell's 128 + 9
        (-15, False, False, (Status.killed, 143)),
        (-9, False, True, (Status.oom, 137)),
        (137, False, True, (Status.oom, 137)),
        (143, False, True, (Status.oom, 137)),
        (-9, True, True, (Status.timeout, 124)),  # the deadline wins
        (0, True, False, (Status.timeout, 124)),
    ],
)
def test_exit_status_mapping(
    rc: int, timed_out: bool, oom: bool, expected: tuple[Status, int]
) -> None:
    assert exit_status(rc, timed_out=timed_out, oom=lambda: oom) == expected


def test_oom_is_asked_only_for_a_signalled_exit() -> None:
    asked: list[int] = []

    def oom() -> bool:
        asked.append(1)
        return True

    assert exit_status(1, timed_out=False, oom=oom) == (Status.exit_code, 1)
    assert asked == []


@pytest.mark.parametrize(
    ("rc", "duration", "expected"),
    [
        (124, 2.0, True),
        (137, 2.0, True),
        (-9, 2.0, True),
        (124, 0.5, False),
        (-9, 0.5, False),
        (1, 2.0, False),
    ],
)
def test_stopped_by_deadline(rc: int, duration: float, expected: bool) -> None:
    assert stopped_by_deadline(rc, duration, timeout_s=1.0) is expected


# Each case: a command, its deadline, and the (status, exit code) every backend must report.
CASES: dict[str, tuple[str | list[str], float, tuple[Status, int] | None]] = {
    "ok": ("true", 10, (Status.ok, 0)),
    "exit-code": ("exit 3", 10, (Status.exit_code, 3)),
    "exits-124-early": ("exit 124", 10, (Status.exit_code, 124)),
    "shell-killed": ("kill -9 $$", 10, (Status.killed, 137)),
    "shell-terminated": ("kill -TERM $$", 10, (Status.killed, 143)),
    "process-killed": (
        ["python3", "-c", "import os; os.kill(os.getpid(), 9)"],
        10,
        (Status.killed, 137),
    ),
    "deadline": ("sleep 30", 1.0, (Status.timeout, 124)),
    "cannot-exec": (
        ["/no/such/program"],
        10,
        None,
    ),  # 126 or 127: an exit code, whatever the shell says
}


@pytest.mark.docker
@pytest.mark.parametrize("case", list(CASES))
def test_both_backends_map_exits_alike(backend: SandboxBackend, case: str) -> None:
    cmd, timeout, expected = CASES[case]
    with backend.open(SMALL) as sb:
        r = sb.run(cmd, timeout_s=timeout)
    if expected is None:
        assert r.status is Status.exit_code and r.exit_code in (126, 127), r
    else:
        assert (r.status, r.exit_code) == expected, r


@pytest.mark.docker
def test_a_childs_oom_kill_is_not_blamed_on_the_next_command(backend: SandboxBackend) -> None:
    """A child killed for memory while its parent exits 1 is an exit code; a later command
    killed by a signal is `killed`, not `oom`: each command sees only its own OOM kills."""
    hog = "import subprocess, sys; subprocess.run(['python3', '-c', 'x = bytearray(1 << 30)']); sys.exit(1)"
    with backend.open(SMALL) as sb:
        first = sb.run(["python3", "-c", hog], timeout_s=30)
        second = sb.run("kill -9 $$", timeout_s=10)
    assert (first.status, first.exit_code) == (Status.exit_code, 1), first
    assert (second.status, second.exit_code) == (Status.killed, 137), second


@pytest.mark.docker
def test_both_backends_refuse_copies_outside_the_writable_dirs(
    backend: SandboxBackend, tmp_path: Path
) -> None:
    (tmp_path / "f").write_text("x")
    with backend.open(SMALL) as sb:
        for dest in ("/etc", "/usr/lib/x", "/testbed/../etc", "/"):
            with pytest.raises(SandboxError, match="outside the writable directories"):
                sb.put_files({"f": b"x"}, dest)
            with pytest.raises(SandboxError, match="outside the writable directories"):
                sb.put_dir(tmp_path, dest)
        sb.put_files({"f": b"x"}, "/tmp/deeper/dir")
        assert sb.get_files("/tmp/deeper/dir") == {"f": b"x"}


@pytest.mark.docker
def test_the_sandbox_environment_is_exactly_the_documented_one(
    backend: SandboxBackend, tmp_path: Path
) -> None:
    """BASE_ENV, what `open` and `run` were given, PWD, and DGM_LLM_SOCKET with a gateway
    (see the protocol docstring and docs/sandbox.md); nothing else."""
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(str(tmp_path / "llm.sock"))
    try:
        with backend.open(
            SMALL, env={"FROM_OPEN": "1"}, gateway_socket=tmp_path / "llm.sock"
        ) as sb:
            r = sb.run(
                ["python3", "-c", "import json, os; print(json.dumps(dict(os.environ)))"],
                timeout_s=10,
                env={"FROM_RUN": "2"},
            )
            who = sb.run("id -u; id -g", timeout_s=10)
    finally:
        srv.close()
    env = json.loads(r.stdout)
    expected = {
        **BASE_ENV,
        "FROM_OPEN": "1",
        "FROM_RUN": "2",
        "PWD": "/testbed",
        SOCKET_ENV: "/run/dgm/llm.sock",
    }
    assert env == expected, env
    assert who.stdout.split() == [str(SANDBOX_UID), str(SANDBOX_UID)]

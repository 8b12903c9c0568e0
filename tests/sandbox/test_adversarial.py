"""The adversarial suite: each attack must be contained, and neither the host nor a later
sandbox may notice it. Runs against every backend in conftest.BACKENDS, and against
Docker with recycled containers (the later sandbox is then the same container, reset)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sandbox import SandboxBackend, SandboxError, Status
from tests.sandbox.conftest import BACKENDS, SMALL, assert_fresh_sandbox_works

pytestmark = pytest.mark.docker


@pytest.fixture(params=[*BACKENDS, "recycled"])
def backend(request: pytest.FixtureRequest) -> SandboxBackend:
    return request.getfixturevalue(f"{request.param}_backend")


def test_fork_bomb_is_capped_and_cleaned(backend: SandboxBackend) -> None:
    with backend.open(SMALL) as sb:
        r = sb.run("bomb() { bomb | bomb & }; bomb; sleep 3", timeout_s=4)
        assert r.status in (Status.ok, Status.timeout, Status.killed, Status.exit_code)
        assert r.duration_s < 4 + 10
        after = sb.run("ps -u $(id -u) -o pid=,comm= | awk '$1 != 1' | wc -l", timeout_s=10)
        assert after.status is Status.ok, after
        assert int(after.stdout) <= 8, f"processes left behind: {after.stdout}"
    assert_fresh_sandbox_works(backend)


def test_memory_bomb_is_killed_as_oom(backend: SandboxBackend) -> None:
    with backend.open(SMALL) as sb:
        r = sb.run(
            ["python3", "-c", "x = []\nwhile True: x.append(bytearray(16 << 20))"], timeout_s=20
        )
        assert r.status is Status.oom, r
        assert r.exit_code == 137
        again = sb.run(["python3", "-c", "print(len(bytearray(32 << 20)))"], timeout_s=10)
        assert again.stdout.strip() == str(32 << 20), again
    assert_fresh_sandbox_works(backend)


@pytest.mark.parametrize(
    "cmd",
    [
        "while :; do :; done",
        "trap '' TERM INT HUP; while :; do sleep 0.1; done",
        [
            "python3",
            "-c",
            "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True: time.sleep(0.01)",
        ],
    ],
    ids=["busy-loop", "sh-ignores-sigterm", "python-ignores-sigterm"],
)
def test_deadline_really_kills(backend: SandboxBackend, cmd: str | list[str]) -> None:
    with backend.open(SMALL) as sb:
        start = time.monotonic()
        r = sb.run(cmd, timeout_s=1.5)
        assert r.status is Status.timeout, r
        assert r.exit_code == 124
        assert time.monotonic() - start < 1.5 + 5
        left = sb.run(
            "ps -u $(id -u) -o pid=,comm= | awk '$1 != 1' | grep -cE 'python3|sleep' || true",
            timeout_s=10,
        )
        assert left.stdout.strip() == "0", left
    assert_fresh_sandbox_works(backend)


def test_disk_fill_hits_the_cap_not_the_host(backend: SandboxBackend) -> None:
    with backend.open(SMALL) as sb:
        for d in ("/testbed", "/tmp", "/out"):
            r = sb.run(
                f"dd if=/dev/zero of={d}/fill bs=1M count={SMALL.disk_mb * 3} 2>&1; stat -c %s {d}/fill",
                timeout_s=20,
            )
            assert "No space left" in r.stdout, r
            assert int(r.stdout.split()[-1]) <= SMALL.disk_mb << 20
        still = sb.run("rm /testbed/fill && echo room > /testbed/x && cat /testbed/x", timeout_s=10)
        assert still.stdout.strip() == "room", still
    assert_fresh_sandbox_works(backend)


def test_docker_disk_fill_never_touches_the_container_layer(docker_backend: SandboxBackend) -> None:
    with docker_backend.open(SMALL) as sb:
        sb.run(
            "dd if=/dev/zero of=/testbed/fill bs=1M count=200; dd if=/dev/zero of=/tmp/f bs=1M count=200",
            timeout_s=20,
        )
        [info] = sb.api.containers(all=True, filters={"id": sb.id}, size=True)  # type: ignore[attr-defined]
        assert info.get("SizeRw", 0) < 1 << 20, "writes reached the host's overlay disk"


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_output_flood_is_capped(backend: SandboxBackend, stream: str) -> None:
    redirect = "" if stream == "stdout" else " 1>&2"
    with backend.open(SMALL) as sb:
        r = sb.run(f"yes floodfloodflood{redirect}", timeout_s=30)
        text = r.stdout if stream == "stdout" else r.stderr
        assert r.status in (Status.killed, Status.timeout), r.status
        assert getattr(r, f"{stream}_truncated") is True and r.output_cut
        assert r.flooded is (r.status is Status.killed)
        assert len(text.encode()) <= SMALL.output_cap_bytes + 200
        assert r.output_cap_bytes == SMALL.output_cap_bytes
        assert r.duration_s < 30
        small = sb.run("echo fine", timeout_s=10)
        assert small.stdout == "fine\n" and not small.stdout_truncated and not small.output_cut
    assert_fresh_sandbox_works(backend)


def _bridge_ip(backend: SandboxBackend) -> str | None:
    client = getattr(backend, "client", None)
    if client is None:
        return None
    cfg = client.api.inspect_network("bridge")["IPAM"]["Config"]
    return cfg[0].get("Gateway") if cfg else None


def test_no_network_egress(backend: SandboxBackend, docker_backend: SandboxBackend) -> None:
    hosts = ["127.0.0.1"] + [ip for ip in [_bridge_ip(docker_backend)] if ip]
    listeners = []
    for host in hosts:
        srv = socket.socket()
        srv.bind((host, 0))
        srv.listen(8)
        srv.settimeout(0.5)
        listeners.append(srv)
    probe = (
        "import socket, sys\n"
        "targets = [(h, int(p)) for h, p in (a.split(':') for a in sys.argv[1:])]\n"
        "for t in targets + [('1.1.1.1', 53), ('deb.debian.org', 80)]:\n"
        "    try:\n"
        "        socket.create_connection(t, timeout=2).close(); print('OPEN', t)\n"
        "    except OSError as e: print('closed', t, type(e).__name__)\n"
        "try:\n"
        "    print('DNS', socket.gethostbyname('deb.debian.org'))\n"
        "except OSError: print('nodns')\n"
        "for path in ('/var/run/docker.sock', '/run/docker.sock'):\n"
        "    try:\n"
        "        s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(path); print('OPEN', path)\n"
        "    except OSError as e: print('closed', path, type(e).__name__)\n"
    )
    args = [f"{h}:{s.getsockname()[1]}" for h, s in zip(hosts, listeners, strict=True)]
    with backend.open(SMALL) as sb:
        r = sb.run(["python3", "-c", probe, *args], timeout_s=20)
    assert r.status is Status.ok, r
    assert "OPEN" not in r.stdout and "DNS" not in r.stdout and "nodns" in r.stdout, r.stdout
    for srv in listeners:
        with pytest.raises(socket.timeout):
            srv.accept()
        srv.close()


def test_host_environment_does_not_leak(
    backend: SandboxBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-planted-by-the-test-0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    with backend.open(SMALL, env={"TASK_ID": "t1"}) as sb:
        r = sb.run(
            "env; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'",
            timeout_s=10,
            env={"EXTRA": "1"},
        )
    assert r.status is Status.ok, r
    assert secret not in r.stdout and "OPENAI_API_KEY" not in r.stdout
    names = {line.split("=", 1)[0] for line in r.stdout.splitlines() if "=" in line}
    assert {"TASK_ID", "EXTRA", "PATH", "HOME", "LANG"} <= names
    assert names <= {
        "TASK_ID",
        "EXTRA",
        "PATH",
        "HOME",
        "LANG",
        "PYTHONDONTWRITEBYTECODE",
        "PWD",
        "HOSTNAME",
        "SHLVL",
        "_",
        "OLDPWD",
    }, names


def test_cannot_write_outside_the_work_dirs(backend: SandboxBackend, tmp_path: Path) -> None:
    targets = [
        "/etc/pwned",
        "/usr/pwned",
        "/pwned",
        "/root/pwned",
        "/run/dgm/pwned",
        "/var/pwned",
        "/home/pwned",
        str(tmp_path / "pwned"),
    ]
    with backend.open(SMALL) as sb:
        r = sb.run(
            " ; ".join(f"(echo x > {t}) 2>/dev/null && echo WROTE {t}" for t in targets) + "; true",
            timeout_s=10,
        )
        ok = sb.run(
            "echo x > /testbed/a && echo x > /agent/a && echo x > /task/a && echo x > /out/a && echo x > /tmp/a"
            " && echo wrote-all",
            timeout_s=10,
        )
    assert "WROTE" not in r.stdout, r.stdout
    assert ok.stdout.strip() == "wrote-all", ok
    assert not (tmp_path / "pwned").exists()


def test_copy_out_refuses_symlinks_and_escapes(backend: SandboxBackend, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    with backend.open(SMALL) as sb:
        sb.run(
            "mkdir -p /out/d && echo good > /out/d/good.txt && ln -s /etc/passwd /out/d/passwd "
            "&& ln -s / /out/d/root && ln /out/d/good.txt /out/d/hard 2>/dev/null; mkfifo /out/d/fifo; true",
            timeout_s=10,
        )
        files = sb.get_files("/out")
        sb.get_dir("/out", dest)
        with pytest.raises(SandboxError):
            sb.get_files("/does/not/exist")
        with pytest.raises(SandboxError):
            sb.get_files("relative/path")
    assert files == {"d/good.txt": b"good\n", "d/hard": b"good\n"}
    assert not (dest / "d" / "passwd").exists() and not (dest / "d" / "root").exists()
    assert [p for p in dest.rglob("*") if p.is_symlink()] == []
    assert list(outside.iterdir()) == []


def test_copy_out_cap(backend: SandboxBackend) -> None:
    with backend.open(SMALL.model_copy(update={"copy_out_cap_mb": 1})) as sb:
        sb.run("head -c 3000000 /dev/zero > /out/big", timeout_s=10)
        with pytest.raises(SandboxError, match="cap"):
            sb.get_files("/out")


def test_background_processes_do_not_outlive_the_command(backend: SandboxBackend) -> None:
    with backend.open(SMALL) as sb:
        r = sb.run(
            "sleep 1000 & setsid sleep 1001 & nohup sh -c 'sleep 1002' >/dev/null 2>&1 & echo started",
            timeout_s=10,
        )
        assert r.stdout.strip() == "started"
        left = sb.run("ps -u $(id -u) -o args= | grep -c '^sleep 100' || true", timeout_s=10)
        assert left.stdout.strip() == "0", left
        if (
            hasattr(sb, "uid") and os.geteuid() == 0
        ):  # local: each run is its own pid namespace; look from the host
            from sandbox.local_backend import _pids_of_uid

            assert _none_alive(lambda: _pids_of_uid(sb.uid))  # type: ignore[attr-defined]
    assert_fresh_sandbox_works(backend)


def test_many_sandboxes_in_parallel(backend: SandboxBackend) -> None:
    n = 6
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            with backend.open(SMALL, env={"WHO": str(i)}) as sb:
                sb.put_files({"id.txt": str(i).encode()}, "/task")
                r = sb.run(
                    "sleep 0.3; echo $WHO $(cat /task/id.txt) > /out/who; ls /task | wc -l",
                    timeout_s=20,
                )
                assert r.status is Status.ok and r.stdout.strip() == "1", r
                results[i] = sb.get_files("/out/who")["who"].decode().strip()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert results == {i: f"{i} {i}" for i in range(n)}
    assert_fresh_sandbox_works(backend)


def test_host_is_unaffected(backend: SandboxBackend) -> None:
    """After a sandbox with a daemonised process closes, nothing of it is left on the host:
    no process, no container, no directory or mount; and the host still forks."""
    if getattr(backend, "recycle", False):  # earlier sandboxes back in the pool first
        backend.pool.wait_idle(60)  # type: ignore[attr-defined]
    with backend.open(SMALL) as sb:
        sb.run("setsid sleep 1000 & nohup sleep 1001 >/dev/null 2>&1 & echo", timeout_s=5)
        sb.run("setsid sleep 1002 &", timeout_s=5)
    if getattr(backend, "recycle", False):  # docker, recycled: the same container, emptied
        backend.pool.wait_idle(60)  # type: ignore[attr-defined]
        with backend.open(SMALL) as again:
            assert again.id == sb.id  # type: ignore[attr-defined]
            left = again.run("ps -e -o args= | grep -c '^sleep' || true", timeout_s=10)
            assert left.stdout.strip() == "0", left
    elif hasattr(sb, "id"):  # docker
        backend.pool.wait_idle(60)  # type: ignore[attr-defined]
        assert not backend.client.api.containers(all=True, filters={"id": sb.id})  # type: ignore[attr-defined]
    else:  # local
        from sandbox.local_backend import _pids_of_uid

        assert not sb.dir.exists() and str(sb.dir) not in Path("/proc/mounts").read_text()  # type: ignore[attr-defined]
        if os.geteuid() == 0:  # zombies (bwrap's, until the host's init reaps them) hold nothing
            assert _none_alive(lambda: _pids_of_uid(sb.uid))  # type: ignore[attr-defined]
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


def _none_alive(pids: Callable[[], list[int]], within_s: float = 2.0) -> bool:
    """No live (non-zombie) process among `pids()`, allowing SIGKILLed ones a moment to go."""
    end = time.monotonic() + within_s
    while True:
        alive = [p for p in pids() if _state(p) not in ("Z", "X", "gone")]
        if not alive or time.monotonic() > end:
            return not alive
        time.sleep(0.05)


def test_both_backends_refuse_the_same_bad_calls(backend: SandboxBackend) -> None:
    with backend.open(SMALL) as sb:
        with pytest.raises(SandboxError, match="empty command"):
            sb.run([])
        with pytest.raises(SandboxError, match="bad environment variable name"):
            sb.run("true", env={"A=B": "1"})
        assert sb.run("true", timeout_s=10).status is Status.ok  # the sandbox is still usable

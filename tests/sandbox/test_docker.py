"""Docker backend specifics: the hardening is really in the container config, labels,
orphan cleanup, the pool, the gateway opening, and a missing engine."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from sandbox import EngineUnavailable, SandboxBackend, Status, open_backend
from sandbox.docker_backend import LABEL, owner_token, remove_orphans
from tests.sandbox.conftest import SMALL

pytestmark = pytest.mark.docker


def test_container_is_hardened(docker_backend: SandboxBackend) -> None:
    with docker_backend.open(SMALL) as sb:
        info = sb.api.inspect_container(sb.id)  # type: ignore[attr-defined]
        r = sb.run("id -u; cat /proc/self/status | grep -E '^(CapEff|NoNewPrivs)'", timeout_s=10)
    hc = info["HostConfig"]
    assert hc["NetworkMode"] == "none"
    assert hc["CapDrop"] == ["ALL"]
    assert "no-new-privileges" in hc["SecurityOpt"]
    assert hc["PidsLimit"] == SMALL.pids
    assert hc["Memory"] == hc["MemorySwap"] == SMALL.memory_mb << 20
    assert hc["NanoCpus"] == int(SMALL.cpus * 1e9)
    assert hc["ReadonlyRootfs"] is True
    assert set(hc["Tmpfs"]) == {"/testbed", "/agent", "/task", "/out", "/tmp"}
    assert all(f"size={SMALL.disk_mb}m" in opts and "exec" in opts for opts in hc["Tmpfs"].values())
    assert hc["Binds"] in (None, [])
    assert r.stdout.split()[0] == "1000"
    assert "CapEff:\t0000000000000000" in r.stdout and "NoNewPrivs:\t1" in r.stdout


def test_labels_carry_run_and_owner(docker_backend: SandboxBackend) -> None:
    with docker_backend.open(SMALL) as sb:
        labels = sb.api.inspect_container(sb.id)["Config"]["Labels"]  # type: ignore[attr-defined]
    assert labels[LABEL] == "1"
    assert labels["dgm.run"] == "pytest-sandbox"
    assert labels["dgm.owner"] == owner_token()


def test_close_removes_and_pool_never_reuses(docker_backend: SandboxBackend) -> None:
    ids = []
    for _ in range(3):
        with docker_backend.open(SMALL) as sb:
            ids.append(sb.id)  # type: ignore[attr-defined]
            sb.run("echo x > /testbed/mark", timeout_s=10)
    assert len(set(ids)) == 3
    docker_backend.pool.wait_idle(60)  # type: ignore[attr-defined]
    alive = {
        c["Id"] for c in docker_backend.client.api.containers(all=True, filters={"label": LABEL})
    }  # type: ignore[attr-defined]
    assert alive.isdisjoint(ids)


def test_close_on_exception_cleans_up(docker_backend: SandboxBackend) -> None:
    with pytest.raises(RuntimeError), docker_backend.open(SMALL) as sb:
        cid = sb.id  # type: ignore[attr-defined]
        raise RuntimeError("caller crashed")
    docker_backend.pool.wait_idle(60)  # type: ignore[attr-defined]
    assert not docker_backend.client.api.containers(all=True, filters={"id": cid})  # type: ignore[attr-defined]


def test_orphans_of_dead_owners_are_removed_live_ones_kept(docker_backend: SandboxBackend) -> None:
    api = docker_backend.client.api  # type: ignore[attr-defined]
    dead = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.2)"])
    dead_token = owner_token(dead.pid)
    dead.wait()
    image = docker_backend.image  # type: ignore[attr-defined]
    made = {}
    for name, token in (("dead", dead_token), ("live", owner_token())):
        made[name] = api.create_container(
            image, command=["true"], labels={LABEL: "1", "dgm.owner": token}
        )["Id"]
    try:
        assert remove_orphans(docker_backend.client) >= 1  # type: ignore[attr-defined]
        present = {c["Id"] for c in api.containers(all=True, filters={"label": LABEL})}
        assert made["dead"] not in present
        assert made["live"] in present
    finally:
        api.remove_container(made["live"], force=True)


def test_killed_owner_leaves_orphans_that_the_next_backend_removes() -> None:
    code = (
        "import os\n"
        "from sandbox import open_backend\n"
        "b = open_backend('docker', run_label='crash', pool_size=1)\n"
        "sb = b.open()\n"
        "print(sb.id, flush=True)\n"
        "os._exit(9)\n"  # no cleanup at all: as if the caller crashed
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[2],
    )
    cid = proc.stdout.strip()
    assert cid, proc.stderr
    _settle(docker.from_env(), "dgm.run=crash")
    with open_backend("docker", pool_size=0) as fresh:
        present = {
            c["Id"]
            for c in fresh.client.api.containers(all=True, filters={"label": "dgm.run=crash"})
        }  # type: ignore[attr-defined]
    assert cid not in present and present == set()


def _settle(client: docker.DockerClient, label: str) -> None:
    """Wait until the engine's containers with `label` stop changing: a create the dead
    process sent (its pool refilling) may land after it died."""
    seen: set[str] | None = None
    for _ in range(60):
        now = {c["Id"] for c in client.api.containers(all=True, filters={"label": label})}
        if now == seen:
            return
        seen = now
        time.sleep(1.0)


def test_remove_own_sandboxes_cleans_up_before_a_hard_exit() -> None:
    code = (
        "import os\n"
        "from sandbox import open_backend, remove_own_sandboxes\n"
        "b = open_backend('docker', run_label='hard-exit', pool_size=2)\n"
        "sb = b.open()\n"
        "b.pool.wait_idle(60)\n"  # the warm spares exist too: they must go as well
        "print(remove_own_sandboxes(), flush=True)\n"
        "os._exit(130)\n"  # what `dgm run` does after a second Ctrl-C
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[2],
    )
    assert proc.returncode == 130, proc.stderr
    assert int(proc.stdout.strip()) >= 1
    client = docker.from_env()
    assert client.api.containers(all=True, filters={"label": "dgm.run=hard-exit"}) == []


def test_missing_engine_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no.sock")
    with pytest.raises(EngineUnavailable) as e:
        open_backend("docker")
    msg = str(e.value)
    assert "\n" not in msg and "scripts/dockerd.sh" in msg and "--sandbox local" in msg


def test_root_commands_cannot_stop_the_container(docker_backend: SandboxBackend) -> None:
    with docker_backend.open(SMALL) as sb:
        r = sb.run("id -u; kill -9 -1; kill -9 1; sleep 100 &", user="root", timeout_s=10)
        assert r.stdout.split()[0] == "0"
        after = sb.run("echo still-here", timeout_s=10)
        assert after.stdout == "still-here\n", after


def test_runner_pid1_cannot_be_killed_traced_or_spoken_to(docker_backend: SandboxBackend) -> None:
    attack = (
        "import os, signal\n"
        "for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGSTOP, signal.SIGPIPE):\n"
        "    try: os.kill(1, sig)\n"
        "    except OSError as e: print('kill', sig, type(e).__name__)\n"
        "for path in ('/proc/1/fd/0', '/proc/1/fd/1', '/proc/1/mem', '/proc/1/environ'):\n"
        "    try: open(path, 'wb' if 'fd' in path else 'rb').close(); print('OPENED', path)\n"
        "    except OSError as e: print('denied', path)\n"
        "import ctypes\n"
        "print('ptrace', ctypes.CDLL(None).ptrace(16, 1, 0, 0))\n"  # PTRACE_ATTACH
    )
    with docker_backend.open(SMALL) as sb:
        r = sb.run(["python3", "-c", attack], timeout_s=20)
        assert "OPENED" not in r.stdout, r.stdout
        assert "ptrace -1" in r.stdout, r.stdout
        after = sb.run("echo still-here; ps -o pid=,stat= -p 1", timeout_s=10)
    assert after.stdout.split()[:1] == ["still-here"] and "T" not in after.stdout.split()[2:], after


def test_outer_deadline_removes_the_container(docker_backend: SandboxBackend) -> None:
    """If the inside fails to kill at the deadline, the host stops waiting and removes it all."""
    from sandbox.docker_backend import USER

    with docker_backend.open(SMALL) as sb:
        outcome, rc = sb._exec(["sleep", "60"], USER, {}, "/", None, 1.0, 1024, 4096)  # type: ignore[attr-defined]
        assert rc is None and not outcome.finished
        gone = not docker_backend.client.api.containers(all=True, filters={"id": sb.id})  # type: ignore[attr-defined]
        later = sb.run("echo hi", timeout_s=5)
    assert gone
    assert later.status is Status.sandbox_error and "removed" in later.stderr


def test_run_reports_exit_codes_and_workdir(docker_backend: SandboxBackend, tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "mod.py").write_text("def f():\n    return 1\n")
    (tmp_path / "repo" / "test_mod.py").write_text(
        "from mod import f\n\ndef test_f():\n    assert f() == 1\n"
    )
    with docker_backend.open(SMALL) as sb:
        sb.put_dir(tmp_path / "repo", "/testbed")
        r = sb.run(["python", "-m", "pytest", "-q", "-p", "no:cacheprovider"], timeout_s=60)
        assert r.status is Status.ok and "1 passed" in r.stdout, r
        bad = sb.run("exit 7", timeout_s=10)
        assert (bad.status, bad.exit_code) == (Status.exit_code, 7)
        wd = sb.run("pwd", workdir="/tmp", timeout_s=10)
        assert wd.stdout.strip() == "/tmp"
        git = sb.run(
            "git init -q . && git add -A && git commit -qm init && git log --oneline | wc -l",
            timeout_s=30,
        )
        assert git.stdout.strip() == "1", git
    assert os.environ.get("DGM_LLM_SOCKET") is None


def test_a_same_size_edit_in_the_same_second_is_what_runs(docker_backend: SandboxBackend) -> None:
    # Bytecode is validated by source mtime (whole seconds) and size only. An agent that
    # runs the tests, edits a file to the same size within that second, and re-runs them
    # would run the stale bytecode if the sandbox let Python write it. The edit keeps the
    # first mtime explicitly, so the test does not depend on timing.
    script = (
        "import os, subprocess\n"
        "open('m.py', 'w').write(\"X = 'old'\\n\")\n"
        "st = os.stat('m.py')\n"
        "subprocess.run(['python3', 't.py'])\n"
        "open('m.py', 'w').write(\"X = 'new'\\n\")\n"
        "os.utime('m.py', ns=(st.st_atime_ns, st.st_mtime_ns))\n"
        "subprocess.run(['python3', 't.py'])\n"
    )
    with docker_backend.open(SMALL) as sb:
        sb.put_files({"t.py": b"import m\nprint(m.X)\n", "edit.py": script.encode()}, "/testbed")
        r = sb.run("python3 edit.py", workdir="/testbed", timeout_s=30)
        assert r.stdout.split() == ["old", "new"], r.stderr

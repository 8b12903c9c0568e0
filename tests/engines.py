"""A Docker engine of a test's own: a separate dockerd with its own data root, exec root,
pid file and unix socket under the test's folder, so a test may stop and restart it while
every other engine on the machine (the shared one above all) is never touched. Point a
process at it with DOCKER_HOST=unix://SOCKET. Needs root and the dockerd binary."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import docker

from sandbox.image import image_tag


class PrivateEngine:
    """A dockerd this test starts, stops and starts again (same state: images stay)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "docker.sock"
        self.host = f"unix://{self.socket}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.root.mkdir(parents=True, exist_ok=True)
        log = (self.root / "dockerd.log").open("ab")
        self.proc = subprocess.Popen(
            [
                "dockerd",
                *("--data-root", str(self.root / "data")),
                *("--exec-root", str(self.root / "exec")),
                *("--pidfile", str(self.root / "docker.pid")),
                *("-H", self.host),
                # no bridge, no iptables rules: the machine's engine owns those
                *("--bridge", "none", "--iptables=false", "--ip-masq=false"),
            ],
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"dockerd exited: {self.log_tail()}"
            if self.answers():
                return
            time.sleep(0.2)
        raise AssertionError(f"the test's dockerd did not answer in {timeout_s:g}s")

    def stop(self, timeout_s: float = 60) -> None:
        """SIGTERM this engine (and only it: the process this object started) and wait."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def answers(self) -> bool:
        try:
            docker.DockerClient(base_url=self.host, timeout=5).ping()
            return True
        except Exception:  # noqa: BLE001 - not up (yet)
            return False

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.host, timeout=120)

    def load_sandbox_image(self) -> str:
        """The shared engine's sandbox image, copied in (docker save | docker load)."""
        tag = image_tag()
        save = subprocess.Popen(["docker", "save", tag], stdout=subprocess.PIPE)
        load = subprocess.run(
            ["docker", "load"],
            stdin=save.stdout,
            capture_output=True,
            env={**os.environ, "DOCKER_HOST": self.host},
        )
        assert save.wait() == 0 and load.returncode == 0, load.stderr
        return tag

    def log_tail(self) -> str:
        path = self.root / "dockerd.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

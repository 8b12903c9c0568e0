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
        # dockerd started with `--bridge none` deletes the machine's docker0 interface (the
        # shared engine's default bridge) at start-up: put it back as it was.
        self.bridge = bridge_addresses()
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
                restore_bridge(self.bridge)
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
        restore_bridge(self.bridge)

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


def bridge_addresses(name: str = "docker0") -> list[str] | None:
    """The IPv4 addresses (CIDR) of the interface `name`, or None if there is none."""
    out = subprocess.run(
        ["ip", "-o", "-4", "addr", "show", "dev", name], capture_output=True, text=True
    )
    if out.returncode != 0:
        return None
    return [line.split()[3] for line in out.stdout.splitlines() if len(line.split()) > 3]


def restore_bridge(addresses: list[str] | None, name: str = "docker0") -> None:
    """Put the bridge `name` back with `addresses` if it was there before and is gone."""
    if addresses is None or bridge_addresses(name) is not None:
        return
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    for cidr in addresses:
        subprocess.run(["ip", "addr", "add", cidr, "dev", name], check=True)
    subprocess.run(["ip", "link", "set", name, "up"], check=True)

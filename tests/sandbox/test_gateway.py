"""The gateway socket: the one opening to the host, reachable by the sandbox user."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from sandbox import SandboxBackend, Status
from tests.sandbox.conftest import SMALL

pytestmark = pytest.mark.docker


def test_gateway_socket_is_the_one_opening(backend: SandboxBackend, tmp_path: Path) -> None:
    gw = tmp_path / "gw"
    gw.mkdir(mode=0o700)
    path = gw / "llm.sock"
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(str(path))
    srv.listen(4)
    got: list[bytes] = []

    def serve() -> None:
        conn, _ = srv.accept()
        got.append(conn.recv(100))
        conn.sendall(b"pong")
        conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    client = (
        "import os, socket\n"
        "s = socket.socket(socket.AF_UNIX); s.connect(os.environ['DGM_LLM_SOCKET'])\n"
        "s.sendall(b'ping'); print(s.recv(100).decode())\n"
    )
    with backend.open(SMALL, gateway_socket=path) as sb:
        r = sb.run(["python3", "-c", client], timeout_s=20)
        env = sb.run(
            "echo $DGM_LLM_SOCKET; test -S /run/dgm/llm.sock && echo llm.sock; id -u; (echo x > /run/dgm/new) 2>/dev/null || echo readonly",
            timeout_s=10,
        )
    t.join(5)
    srv.close()
    assert r.status is Status.ok and r.stdout.strip() == "pong", r
    assert got == [b"ping"]
    lines = env.stdout.split()
    assert (
        lines[0] == "/run/dgm/llm.sock"
        and "llm.sock" in lines
        and "1000" in lines
        and "readonly" in lines
    )
    assert not (gw / "new").exists()

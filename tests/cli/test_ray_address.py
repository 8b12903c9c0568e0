"""`--ray-address` pointing at something that accepts TCP but is not Ray (a silent port, a
web server) is one line naming the address, in seconds: never Ray's ConnectionError
traceback, nor a client that retries for minutes."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.cli.conftest import dgm, one_line_error


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


@pytest.fixture
def web_port() -> Iterator[int]:
    """An HTTP/1.1 server (it answers the HTTP/2 preface with a 400)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("kind", ["silent", "web"])
def test_an_address_that_is_not_ray_is_one_line(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    port = request.getfixturevalue(f"{kind}_port")
    (tmp_path / "script.yaml").write_text("- pattern: .\n  content: Done.\n")
    start = time.monotonic()
    proc = dgm(
        "run",
        "--executor",
        "ray",
        "--ray-address",
        f"127.0.0.1:{port}",
        "--model",
        "scripted:script.yaml",
        "--archive",
        str(tmp_path / "a.db"),
        cwd=tmp_path,
        timeout=100,
    )
    one_line_error(proc, f"127.0.0.1:{port} accepts connections but is not a Ray head")
    assert time.monotonic() - start < 60
    assert not (tmp_path / "a.db").exists()  # a refused run writes nothing


def test_a_refused_ray_run_creates_no_archive(silent_port: int, tmp_path: Path) -> None:
    """The cluster is checked before the default archive (.dgm/archive.db) is created."""
    (tmp_path / "script.yaml").write_text("- pattern: .\n  content: Done.\n")
    proc = dgm(
        "run",
        "--executor",
        "ray",
        "--ray-address",
        f"127.0.0.1:{silent_port}",
        "--model",
        "scripted:script.yaml",
        cwd=tmp_path,
        env={"DGM_ARCHIVE": ""},
        timeout=100,
    )
    one_line_error(proc, "is not a Ray head")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["script.yaml"]

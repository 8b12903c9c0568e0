"""A real HTTP server speaking OpenAI chat-completions on a Unix socket, standing in for
the gateway (a hosted model cannot exist here), and a way to run the agent exactly as the
harness does: the package copied to a directory named `agent`, run with `python -m agent`."""

from __future__ import annotations

import json
import os
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

import dgm.seed_agent

AGENT_SRC = Path(dgm.seed_agent.__file__).parent
Responder = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]


def reply(
    content: str | None = None,
    tool_calls: list[tuple[str, dict[str, Any]]] | None = None,
    usage: int = 100,
) -> tuple[int, dict[str, Any]]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{i}",
                "type": "function",
                "function": {"name": n, "arguments": json.dumps(a)},
            }
            for i, (n, a) in enumerate(tool_calls)
        ]
    return 200, {
        "id": "x",
        "object": "chat.completion",
        "model": "fake",
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if tool_calls else "stop",
            }
        ],
        "usage": {"prompt_tokens": usage - 10, "completion_tokens": 10, "total_tokens": usage},
    }


class FakeGateway:
    """Answers each request with the next scripted reply; records requests and tokens."""

    def __init__(self, path: Path, replies: list[tuple[int, dict[str, Any]]]) -> None:
        self.path, self.replies, self.requests, self.tokens = path, list(replies), [], []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gateway.requests.append(body)
                gateway.tokens.append(self.headers.get("Authorization"))
                if self.path != "/v1/chat/completions":
                    status, payload = 404, {"error": {"type": "not_found", "message": self.path}}
                elif gateway.replies:
                    status, payload = gateway.replies.pop(0)
                else:
                    status, payload = (
                        404,
                        {"error": {"type": "script_exhausted", "message": "no more replies"}},
                    )
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

            def address_string(self) -> str:
                return "unix"

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self.server = Server(str(path), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[Callable[[list[tuple[int, dict[str, Any]]]], FakeGateway]]:
    # AF_UNIX paths are limited to ~108 bytes: keep the socket in a short temp dir
    tmp = Path(tempfile.mkdtemp(prefix="gw-", dir="/tmp"))
    made: list[FakeGateway] = []

    def make(replies: list[tuple[int, dict[str, Any]]]) -> FakeGateway:
        made.append(FakeGateway(tmp / f"{len(made)}.sock", replies))
        return made[-1]

    yield make
    for g in made:
        g.close()
    shutil.rmtree(tmp, ignore_errors=True)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def buggy_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "testbed"
    (repo / "shop").mkdir(parents=True)
    (repo / "shop" / "__init__.py").write_text("")
    (repo / "shop" / "cart.py").write_text(
        "def total(prices):\n    s = 0\n    for p in prices:\n        s -= p\n    return s\n"
    )
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    return repo


def run_agent(
    tmp_path: Path,
    repo: Path,
    gw: FakeGateway,
    problem: str,
    *args: str,
    model: str = "fake-model",
    timeout: float = 120,
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run the agent as the harness does (package dir named `agent`, PYTHONPATH its parent)."""
    root = tmp_path / "root"
    if not (root / "agent").exists():
        shutil.copytree(AGENT_SRC, root / "agent", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "problem.md").write_text(problem)
    out = tmp_path / "out"
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(root),
        "HOME": str(tmp_path),
        "DGM_LLM_SOCKET": str(gw.path),
        "DGM_LLM_TOKEN": "tok-123",
        "DGM_LLM_MODEL": model,
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "agent",
            "--repo",
            str(repo),
            "--problem",
            str(tmp_path / "problem.md"),
            "--out",
            str(out),
            *args,
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    trajectory = (
        json.loads((out / "trajectory.json").read_text())
        if (out / "trajectory.json").exists()
        else {}
    )
    return proc, trajectory

"""Fixtures for the LLM gateway tests: a real OpenAI-protocol HTTP server as the upstream."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from dgm.llm import Gateway, RetryPolicy, open_provider
from dgm.llm.fake_upstream import FakeUpstream

FAKE_KEY = "sk-test-PLANTED-host-key-0123456789"
FAST = RetryPolicy(tries=4, base_delay_s=0.01, max_delay_s=0.05)


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeUpstream]:
    # The host's API key: the gateway must send it upstream and nowhere else.
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    with FakeUpstream() as up:
        yield up


@pytest.fixture
def gateway(upstream: FakeUpstream) -> Iterator[Gateway]:
    with Gateway(open_provider("openai/fake-model", api_base=upstream.base_url), retry=FAST) as gw:
        yield gw


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over AF_UNIX: what an agent with only the stdlib does."""

    def __init__(self, path: str, timeout: float = 60) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def post_chat(
    socket_path: str, token: str | None, payload: dict[str, Any] | bytes
) -> tuple[int, dict, bytes]:
    """One raw POST /v1/chat/completions: (status, parsed body, raw body)."""
    conn = UnixHTTPConnection(socket_path)
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request("POST", "/v1/chat/completions", body, headers)
    r = conn.getresponse()
    raw = r.read()
    conn.close()
    return r.status, json.loads(raw), raw


def ask(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "whatever", "messages": [{"role": "user", "content": text}], **extra}


@pytest.fixture
def store(tmp_path: Any) -> Iterator[Any]:
    """A real archive: a SQLite file in a temp dir."""
    from archive import open_archive

    with open_archive(tmp_path / "archive.db") as a:
        yield a

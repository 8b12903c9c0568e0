"""A chat-completions client over the gateway's Unix socket (standard library only)."""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
from typing import Any


class LLMError(Exception):
    """A call that failed; `kind` is the gateway's error type (e.g. budget_exceeded)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


class Client:
    """POST /v1/chat/completions with retries on transient failures."""

    def __init__(
        self, socket_path: str, token: str, model: str, timeout: float = 600.0, retries: int = 3
    ) -> None:
        self.socket_path, self.token, self.model = socket_path, token, model
        self.timeout, self.retries = timeout, retries

    @classmethod
    def from_env(cls) -> Client:
        path = os.environ.get("DGM_LLM_SOCKET", "")
        if not path:
            raise LLMError(
                "unavailable", "DGM_LLM_SOCKET is not set: the harness mounts the gateway socket"
            )
        return cls(
            path, os.environ.get("DGM_LLM_TOKEN", ""), os.environ.get("DGM_LLM_MODEL", "default")
        )

    def chat(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": messages, **params}
        if tools:
            body["tools"] = tools
        data = json.dumps(body).encode()
        for attempt in range(self.retries + 1):
            try:
                return self._post(data)
            except LLMError as e:
                if (
                    e.kind not in {"rate_limit", "server_error", "timeout", "connection"}
                    or attempt == self.retries
                ):
                    raise
                time.sleep(min(2**attempt, 10))
        raise AssertionError("unreachable")

    def _post(self, data: bytes) -> dict[str, Any]:
        conn = UnixHTTPConnection(self.socket_path, self.timeout)
        try:
            conn.request(
                "POST",
                "/v1/chat/completions",
                body=data,
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {self.token}",
                },
            )
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as e:
            raise LLMError("connection", f"{type(e).__name__}: {e}") from None
        finally:
            conn.close()
        try:
            payload = json.loads(raw or b"{}")
        except ValueError:
            raise LLMError("bad_response", raw[:200].decode(errors="replace")) from None
        if resp.status != 200:
            err = payload.get("error") or {}
            kind = err.get("type") or ("server_error" if resp.status >= 500 else "bad_request")
            raise LLMError(kind, err.get("message") or f"HTTP {resp.status}")
        return payload

"""HTTP/1.1 servers for the gateway: one on a Unix socket (what sandboxes mount), one
optionally on 127.0.0.1. A thread per connection; keep-alive, so a client that reuses
its connection pays no connect cost per call.
"""

from __future__ import annotations

import json
import logging
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from dgm.llm import dialects
from dgm.llm.wire import Reply, error_body

log = logging.getLogger(__name__)

CHAT_PATHS = {"/v1/chat/completions", "/chat/completions"}
MODELS_PATHS = {"/v1/models", "/models"}
MAX_BODY = 64 * 1024 * 1024


class App(Protocol):
    """What the servers call; the Gateway implements it."""

    def chat(self, token: str | None, body: bytes) -> Reply: ...

    def models(self, token: str | None) -> Reply: ...

    def sdk_chat(self, token: str | None, body: bytes) -> Reply:
        """A chat call made through an SDK dialect (dgm/llm/dialects.py): its model name
        is mapped to a model of the run."""
        ...


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = (
        900  # seconds a kept-alive connection may sit idle (or a body stall) before it is closed
    )
    server_version = "dgm-llm-gateway"
    sys_version = ""

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        headers = {"Content-Type": "application/json", **(headers or {})}  # an SSE stream's own
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, kind: str, message: str) -> None:
        self._send(status, error_body(kind, message), {"x-should-retry": "false"})

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        sdk = self.path.startswith(dialects.PREFIX + "/")
        if not sdk and self.path.split("?")[0].rstrip("/") not in CHAT_PATHS:
            self._error(
                404, "not_found", f"no such endpoint {self.path}: use POST /v1/chat/completions"
            )
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._error(411, "bad_request", "send the request body with a Content-Length header")
            return
        if length > MAX_BODY:
            self._error(413, "bad_request", f"request body over {MAX_BODY} bytes")
            return
        body = self.rfile.read(length)
        if len(body) < length:  # the caller hung up mid-request: nobody to answer
            self.close_connection = True
            return
        app: App = self.server.app  # type: ignore[attr-defined]
        if sdk:
            # the headers as they are: their lookups ignore case, as HTTP's names do
            reply = dialects.handle(app.sdk_chat, self.path, self.headers, body)  # type: ignore[arg-type]
        else:
            reply = app.chat(_bearer(self.headers.get("Authorization")), body)
        self._send(reply.status, reply.body, reply.headers)

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?")[0].rstrip("/")
        if path == "/health":
            self._send(200, json.dumps({"status": "ok"}).encode())
            return
        if path not in MODELS_PATHS:
            self._error(404, "not_found", f"no such endpoint {self.path}: use GET /v1/models")
            return
        app: App = self.server.app  # type: ignore[attr-defined]
        reply = app.models(_bearer(self.headers.get("Authorization")))
        self._send(reply.status, reply.body, reply.headers)

    def address_string(self) -> str:
        return self.client_address[0] if isinstance(self.client_address, tuple) else "unix"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("%s %s", self.address_string(), format % args)


class _TCPHandler(_Handler):
    disable_nagle_algorithm = True  # headers and body go out in two writes


class _QuietErrors:
    def handle_error(self, request: object, client_address: object) -> None:
        # A caller that hangs up (or a sandbox that dies) mid-reply is routine, not news.
        log.debug("connection to a caller failed", exc_info=True)


class UnixServer(_QuietErrors, socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 128  # many sandboxes may connect at once

    def __init__(self, path: str, app: App) -> None:
        self.app = app
        super().__init__(path, _Handler)


class TCPServer(_QuietErrors, ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, port: int, app: App, host: str = "127.0.0.1") -> None:
        self.app = app
        super().__init__((host, port), _TCPHandler)


def start(server: socketserver.BaseServer) -> threading.Thread:
    t = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.2},
        daemon=True,
        name="dgm-llm-server",
    )
    t.start()
    return t

"""A real HTTP server that speaks the OpenAI chat-completions protocol and misbehaves on
request. It stands in for a hosted provider in tests and in the gateway benchmark (there
is no hosted LLM here); everything between it and the caller is the real code path.

    with FakeUpstream() as up:
        up.plan("429", "500", "ok")     # the next three requests; then "ok" forever
        litellm.completion(model="openai/fake", api_base=up.base_url, ...)

Behaviours: ok (answers "echo: <last message>", or what `reply(path, request, index)` gives;
a request with `n` gets n choices in one answer, as OpenAI's API gives them), 429, 500, 503,
400, 401 (echoing the key it was sent, as some providers do), slow:SECONDS (then ok), drop
(closes the connection without a reply), malformed (200 with broken JSON), empty (200 with
no choices), negative_usage (negative token counts), list_usage (a `usage` that is not an
object), text_usage (a token count that is not a number), tool_call (asks for the tool named
in the request's first tool, or "bash"), context (400: the request exceeds the context
window, in OpenAI's words).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from dgm.httpserver import ThreadingServer
from dgm.llm.wire import chat_response, rough_tokens, tool_call


def _last_text(request: dict[str, Any]) -> str:
    messages = request.get("messages") or [{}]
    content = messages[-1].get("content") or ""
    return content if isinstance(content, str) else json.dumps(content)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        self._send(
            200,
            json.dumps({"object": "list", "data": [{"id": "fake", "object": "model"}]}).encode(),
        )

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        request = json.loads(body)
        up = self.server.upstream
        behaviour = up.next_behaviour()
        with up.lock:
            up.requests.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": request,
                    "behaviour": behaviour,
                }
            )
        if behaviour.startswith("slow:"):
            time.sleep(float(behaviour.split(":", 1)[1]))
            behaviour = "ok"
        if behaviour == "401":  # like providers that echo the key they refused
            err = {
                "error": {
                    "message": f"Incorrect API key provided: {self.headers.get('Authorization', '')[7:]}",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            }
            self._send(401, json.dumps(err).encode())
        elif behaviour in ("429", "500", "503", "400"):
            message = {"429": "Rate limit reached", "400": "Bad request"}.get(
                behaviour, "Internal error"
            )
            err = {"error": {"message": message, "type": "fake_error", "code": behaviour}}
            self._send(int(behaviour), json.dumps(err).encode())
        elif behaviour == "context":
            err = {
                "error": {
                    "message": "This model's maximum context length is 8192 tokens. However, your "
                    "messages resulted in 9000 tokens. Please reduce the length of the messages.",
                    "type": "invalid_request_error",
                    "code": "context_length_exceeded",
                }
            }
            self._send(400, json.dumps(err).encode())
        elif behaviour == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
        elif behaviour == "malformed":
            self._send(200, b'{"id": "chatcmpl-broken", "choices": [{"mess')
        elif behaviour == "empty":
            self._send(
                200,
                json.dumps(
                    {
                        "id": "x",
                        "object": "chat.completion",
                        "created": 0,
                        "model": "fake",
                        "choices": [],
                    }
                ).encode(),
            )
        elif behaviour == "negative_usage":  # a buggy or hostile server's accounting
            resp = chat_response(request.get("model", "fake"), "cheap answer", None, -500, -20)
            self._send(200, json.dumps(resp).encode())
        elif behaviour in ("list_usage", "text_usage"):  # accounting that is not OpenAI's shape
            resp = chat_response(request.get("model", "fake"), "odd answer", None, 5, 5)
            resp["usage"] = (
                [5, 5]
                if behaviour == "list_usage"
                else {"prompt_tokens": "five", "completion_tokens": 5}
            )
            self._send(200, json.dumps(resp).encode())
        elif behaviour == "tool_call":
            tools = request.get("tools") or [{"function": {"name": "bash"}}]
            call = tool_call(tools[0]["function"]["name"], {"command": "echo hi"})
            self._send(
                200,
                json.dumps(
                    chat_response(request.get("model", "fake"), None, [call], 10, 5)
                ).encode(),
            )
        else:
            text = _last_text(request)
            reply = up.reply or (lambda _path, _request, _index: f"echo: {text}")
            answers = [reply(self.path, request, i) for i in range(int(request.get("n") or 1))]
            resp = chat_response(
                request.get("model", "fake"),
                answers[0],
                None,
                rough_tokens(text),
                sum(rough_tokens(a) for a in answers),
            )
            resp["choices"] = [
                {**resp["choices"][0], "index": i, "message": {"role": "assistant", "content": a}}
                for i, a in enumerate(answers)
            ]
            self._send(200, json.dumps(resp).encode())


class _Server(ThreadingServer):
    # A caller that timed out and hung up is what tests do: no traceback for it.
    upstream: FakeUpstream


Reply = Callable[[str, dict[str, Any], int], str]
"""(the request's path, its body, the choice's index) -> the answer's content."""


class FakeUpstream:
    def __init__(self, port: int = 0, default: str = "ok", reply: Reply | None = None) -> None:
        self.default = default  # the behaviour once the plan is used up
        self.reply = reply
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self._plan: deque[str] = deque()
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.upstream = self
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def plan(self, *behaviours: str) -> None:
        """Queue behaviours for the next requests, in order; afterwards every request gets
        the default behaviour (ok unless the server was made with another)."""
        with self.lock:
            self._plan.extend(behaviours)

    def next_behaviour(self) -> str:
        with self.lock:
            return self._plan.popleft() if self._plan else self.default

    def __enter__(self) -> FakeUpstream:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


if __name__ == "__main__":
    with FakeUpstream(int(sys.argv[1]) if len(sys.argv) > 1 else 0) as up:
        print(up.base_url, flush=True)
        threading.Event().wait()

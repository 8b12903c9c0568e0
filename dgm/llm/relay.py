"""The gateway across machines: a hub beside the one Gateway, and a relay on every node.

    hub = RelayHub(gateway, host="10.0.0.5")      # in the driver, with the gateway
    hub.address, hub.token                         # what each node is told
    relay = NodeRelay(hub.address, hub.token, "llm.sock")   # on a node (a process)
    relay.socket_path                              # what that node's sandboxes mount
    relay.alive()                                  # False once it died (killed, crashed)

A sandbox on any node calls the socket of its own node exactly as it would call the
gateway's; the relay forwards each request once, over TCP, to the hub, which hands it to
the gateway in-process. So the API keys, the budgets (exact to one call) and the records
(one per call) stay in the one Gateway; nothing is retried on the way (a retry could spend
twice). The hub accepts a request only with the hub's token, sent as
`Authorization: Bearer HUB_TOKEN:SESSION_TOKEN`: it is not an API key, it is valid for one
run session, and a relay adds it to what the sandbox sent, so a sandbox never holds it.
"""

from __future__ import annotations

import hmac
import http.client
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from dgm.llm import server as servers
from dgm.llm.server import App
from dgm.llm.wire import Reply, error_body

FORWARD_TIMEOUT_S = 900.0  # as long as a gateway call may take (its own retries included)


def _refused(status: int, kind: str, message: str) -> Reply:
    return Reply(status, error_body(kind, message), {"x-should-retry": "false"})


class _HubApp:
    """The gateway, behind the hub's token."""

    def __init__(self, gateway: App, token: str) -> None:
        self.gateway, self.token = gateway, token

    def _admitted(self, bearer: str | None, call: Callable[[str], Reply]) -> Reply:
        """`call(session token)` when `bearer` is HUB_TOKEN:SESSION_TOKEN, else a refusal."""
        hub, sep, session = (bearer or "").partition(":")
        if not sep or not hmac.compare_digest(hub.encode(), self.token.encode()):
            return _refused(
                401, "auth", "this gateway hub takes requests from dgm node relays only"
            )
        return call(session)

    def chat(self, token: str | None, body: bytes) -> Reply:
        return self._admitted(token, lambda session: self.gateway.chat(session, body))

    def sdk_chat(self, token: str | None, body: bytes) -> Reply:
        return self._admitted(token, lambda session: self.gateway.sdk_chat(session, body))

    def models(self, token: str | None) -> Reply:
        return self._admitted(token, self.gateway.models)


class RelayHub:
    """Serves `gateway` to node relays on host:port (port 0: any free one)."""

    def __init__(self, gateway: App, host: str = "127.0.0.1", port: int = 0) -> None:
        self.token = secrets.token_urlsafe(24)
        self._server = servers.TCPServer(port, _HubApp(gateway, self.token), host=host)
        self.address = f"{host}:{self._server.server_address[1]}"
        servers.start(self._server)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Forward:
    """Each request, once, to the hub; a connection per thread, kept alive."""

    def __init__(self, hub: str, token: str) -> None:
        host, _, port = hub.rpartition(":")
        self.host, self.port, self.token = host, int(port), token
        self._local = threading.local()

    def _send(self, method: str, path: str, session: str | None, body: bytes | None) -> Reply:
        headers = {"Authorization": f"Bearer {self.token}:{session or ''}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=FORWARD_TIMEOUT_S)
            self._local.conn = conn
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            self._local.conn = None
            # Not retried: the hub may have taken the call, and a second one could spend twice.
            return _refused(502, "relay", f"the node relay lost the gateway hub: {e}")
        keep = {k: v for k, v in resp.getheaders() if k.lower().startswith("x-")}
        return Reply(resp.status, data, keep)

    def chat(self, token: str | None, body: bytes) -> Reply:
        return self._send("POST", "/v1/chat/completions", token, body)

    def sdk_chat(self, token: str | None, body: bytes) -> Reply:
        # already translated at this node: the hub's server sees a chat-completions body
        return self._send("POST", "/sdk/v1/chat/completions", token, body)

    def models(self, token: str | None) -> Reply:
        return self._send("GET", "/v1/models", token, None)


class NodeRelay:
    """A Unix socket for this node's sandboxes, named like the gateway's (`socket_name`),
    forwarding to the hub at `hub` ("host:port") with its token. Served by a process of its
    own (`python -m dgm.llm.relay`), so its death is seen (`alive`) and ends only it (a Ray
    node then runs the job it served again and starts a new relay: ray_executor.py)."""

    def __init__(self, hub: str, token: str, socket_name: str) -> None:
        self._dir = tempfile.mkdtemp(prefix="dgm-relay-")
        os.chmod(self._dir, 0o755)  # sandboxes run as other users; only we write here
        path = Path(self._dir) / socket_name
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "dgm.llm.relay", hub, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(token + "\n")  # never on the command line (`ps` shows it)
        self._proc.stdin.close()
        started = self._proc.stdout.readline().strip() == READY  # it says nothing more
        self._proc.stdout.close()
        if not started:
            self.close()
            raise RuntimeError("the node's gateway relay did not start")
        self.socket_path = str(path)

    @property
    def pid(self) -> int:
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc.poll() is None

    def close(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        shutil.rmtree(self._dir, ignore_errors=True)


READY = "ready"


def serve(hub: str, path: str, token: str) -> None:
    """The relay process: serve until the process that started it is gone."""
    parent = os.getppid()
    server = servers.UnixServer(path, _Forward(hub, token))
    os.chmod(path, 0o666)
    servers.start(server)
    print(READY, flush=True)
    while os.getppid() == parent:  # orphaned (its Ray worker died): nobody needs it
        time.sleep(1.0)


def health(hub: str) -> bool:
    """Whether a hub answers at all (no token needed)."""
    host, _, port = hub.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request("GET", "/health")
        return json.loads(conn.getresponse().read()).get("status") == "ok"
    except (OSError, http.client.HTTPException, ValueError):
        return False
    finally:
        conn.close()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], sys.stdin.readline().strip())

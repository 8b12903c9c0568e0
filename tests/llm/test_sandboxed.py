"""A sandboxed process reaches the gateway through the mounted socket with the stdlib only,
and finds no API key anywhere it can look."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dgm.llm import Gateway, open_provider
from dgm.llm.fake_upstream import FakeUpstream
from tests.llm.conftest import FAKE_KEY, FAST

pytestmark = pytest.mark.docker

# What an agent does: stdlib http.client over AF_UNIX. Then it hunts for the key.
AGENT = r"""
import http.client, json, os, socket, sys

class UnixHTTPConnection(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(os.environ["DGM_LLM_SOCKET"])

conn = UnixHTTPConnection("localhost", timeout=60)
body = json.dumps({"model": os.environ["DGM_LLM_MODEL"],
                   "messages": [{"role": "user", "content": "hello from the sandbox"}]})
conn.request("POST", "/v1/chat/completions", body, {
    "Authorization": "Bearer " + os.environ["DGM_LLM_TOKEN"], "Content-Type": "application/json"})
resp = conn.getresponse()
answer = json.loads(resp.read())

needle = sys.argv[1].encode()
found = [k for k, v in os.environ.items() if needle in v.encode() or "API_KEY" in k]
for root in ("/proc/self/environ", "/proc/1/environ"):
    try:
        if needle in open(root, "rb").read():
            found.append(root)
    except OSError:
        pass
scanned = 0
for top in ("/",):
    for dirpath, dirnames, filenames in os.walk(top):
        if dirpath in ("/proc", "/sys", "/dev"):
            dirnames[:] = []
            continue
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                with open(path, "rb") as f:
                    if needle in f.read():
                        found.append(path)
                scanned += 1
            except OSError:
                pass
print(json.dumps({"status": resp.status, "answer": answer, "found": found, "scanned": scanned}))
"""


def test_sandboxed_agent_calls_the_gateway_and_sees_no_key(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    from sandbox import Limits, open_backend

    with (
        Gateway(open_provider("openai/fake-model", api_base=upstream.base_url), retry=FAST) as gw,
        open_backend("docker", run_label="pytest-llm", pool_size=0) as backend,
    ):
        s = gw.open_session(agent_id=None, task_id="sandbox-task")
        with backend.open(
            Limits(timeout_s=180, memory_mb=512), env=s.env, gateway_socket=Path(gw.socket_path)
        ) as sb:
            sb.put_files({"agent_call.py": AGENT.encode()}, "/tmp")
            r = sb.run(["python3", "/tmp/agent_call.py", FAKE_KEY], timeout_s=170)
        assert r.ok, r.stderr[-2000:]
        out = json.loads(r.stdout.strip().splitlines()[-1])
        assert out["status"] == 200, out["answer"]
        assert out["answer"]["choices"][0]["message"]["content"] == "echo: hello from the sandbox"
        assert out["found"] == []
        assert out["scanned"] > 1000  # it really looked through the filesystem
        # the key was in use all along, on the host side of the socket
        assert upstream.requests[-1]["headers"]["Authorization"] == f"Bearer {FAKE_KEY}"
        assert gw.usage(s).calls == 1

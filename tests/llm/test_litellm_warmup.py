"""A litellm model on the user's server (`--api-base`, e.g. hosted_vllm/) needs no key check, so
nothing imported litellm before the first call made that call wait seconds for it: the
provider now imports it in the background as soon as it is opened. The same for the openai
SDK, which host-side chats need."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import threading
from dgm.llm.models import open_provider
from dgm.llm import upstream

assert upstream._litellm.cache_info().currsize == 0
open_provider("hosted_vllm/peer", api_base="http://127.0.0.1:9/v1")
[warm] = [t for t in threading.enumerate() if t.name == "dgm-litellm-import"]
warm.join(120)
print(upstream._litellm.cache_info().currsize, upstream._litellm.cache_info().misses)
"""


def test_opening_a_provider_with_api_base_imports_litellm_without_a_call() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=150
    )
    assert done.returncode == 0, done.stderr[-1500:]
    assert done.stdout.split() == ["1", "1"]  # imported once, by the warm-up alone


GATEWAY_PROBE = """
import sys
import threading
import httpx
from dgm.llm import Gateway, open_provider
from dgm.llm.fake_upstream import FakeUpstream
from dgm.mutators.chat import GatewayChat

def importing():
    return [t for t in threading.enumerate() if t.name == "dgm-openai-import"]

with FakeUpstream() as up, Gateway(open_provider("openai/peer", api_base=up.base_url)) as gw:
    s = gw.open_session(purpose="serve")  # a sandbox's call: plain HTTP on the socket
    with httpx.Client(transport=httpx.HTTPTransport(uds=gw.socket_path)) as http:
        r = http.post(
            "http://gateway/v1/chat/completions",
            headers={"Authorization": f"Bearer {s.token}"},
            json={"model": "x", "messages": [{"role": "user", "content": "hi"}]},
        )
    print(r.status_code, "openai" in sys.modules or bool(importing()))
    GatewayChat(gw)  # a host-side chat: its clients need the SDK
    [warm] = importing()
    warm.join(120)
    print("openai" in sys.modules)
"""


def test_the_openai_sdk_is_imported_in_the_background_for_host_side_chats_only() -> None:
    # Host-side callers (the operators) talk to the gateway through the openai SDK: seconds
    # to import on a loaded machine, which the first call of a run used to wait for. A
    # gateway that only serves sandboxes (`dgm llm serve`, `dgm bench run`) never needs it.
    done = subprocess.run(
        [sys.executable, "-c", GATEWAY_PROBE], capture_output=True, text=True, timeout=150
    )
    assert done.returncode == 0, done.stderr[-1500:]
    assert done.stdout.split() == ["200", "False", "True"]

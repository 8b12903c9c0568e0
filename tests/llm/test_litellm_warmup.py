"""A litellm model on the user's server (`--api-base`, e.g. hosted_vllm/) needs no key check, so
nothing imported litellm before the first call made that call wait seconds for it: the
provider now imports it in the background as soon as it is opened."""

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
from dgm.llm import Gateway, open_provider

assert "openai" not in sys.modules
with Gateway(open_provider("openai/peer", api_base="http://127.0.0.1:9/v1")) as gw:
    [warm] = [t for t in threading.enumerate() if t.name == "dgm-openai-import"]
    warm.join(120)
    print("openai" in sys.modules)
"""


def test_a_started_gateway_imports_the_openai_sdk_its_clients_need_in_the_background() -> None:
    # Host-side callers (the operators) talk to the gateway through the openai SDK: seconds
    # to import on a loaded machine, which the first call of a run used to wait for.
    done = subprocess.run(
        [sys.executable, "-c", GATEWAY_PROBE], capture_output=True, text=True, timeout=150
    )
    assert done.returncode == 0, done.stderr[-1500:]
    assert done.stdout.split() == ["True"]

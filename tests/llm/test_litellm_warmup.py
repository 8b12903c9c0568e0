"""A litellm model on the user's server (`--api-base`, e.g. hosted_vllm/) needs no key check, so
nothing imported litellm before the first call made that call wait seconds for it: the
provider now imports it in the background as soon as it is opened. Host-side chats do not
import the openai SDK at all."""

from __future__ import annotations

import subprocess
import sys

import pytest

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
from dgm.llm.fake_upstream import FakeUpstream
from dgm.mutators.chat import GatewayChat

with FakeUpstream() as up, Gateway(open_provider("openai/peer", api_base=up.base_url)) as gw:
    print(GatewayChat(gw).complete([{"role": "user", "content": "hi"}], purpose="mutate"))
    print("openai" in sys.modules, [t.name for t in threading.enumerate() if "openai" in t.name])
"""


def test_host_side_chats_never_import_the_openai_sdk() -> None:
    # The operators talk to the gateway's socket with httpx (dgm/llm/gateway_client.py):
    # the SDK, seconds to import on a loaded machine, is no part of a run.
    done = subprocess.run(
        [sys.executable, "-c", GATEWAY_PROBE], capture_output=True, text=True, timeout=150
    )
    assert done.returncode == 0, done.stderr[-1500:]
    assert done.stdout.splitlines() == ["echo: hi", "False []"]


HOSTED_PROBE = """
import os
import sys
import threading
from dgm.llm.models import open_provider

os.environ["OPENAI_API_KEY"] = "sk-test"
open_provider("openai/gpt-4o-mini", warm=False)  # a check: its key, without litellm
print("litellm" in sys.modules, [t.name for t in threading.enumerate() if "litellm" in t.name])
open_provider("openai/gpt-4o-mini")  # a run's: its first call will need litellm
[warm] = [t for t in threading.enumerate() if t.name == "dgm-litellm-import"]
warm.join(120)
print("litellm" in sys.modules)
"""


def test_openais_key_is_checked_without_litellm_and_a_run_imports_it_in_the_background() -> None:
    done = subprocess.run(
        [sys.executable, "-c", HOSTED_PROBE], capture_output=True, text=True, timeout=150
    )
    assert done.returncode == 0, done.stderr[-1500:]
    assert done.stdout.splitlines() == ["False []", "True"]


@pytest.mark.parametrize("key", [None, "", "sk-test"])
def test_openais_key_check_is_litellms(key: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """dgm's rule for an `openai/` model gives what litellm's `validate_environment` says."""
    import litellm

    from dgm.llm.upstream import missing_keys

    if key is None:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    else:
        monkeypatch.setenv("OPENAI_API_KEY", key)
    for model in ("openai/gpt-4o-mini", "openai/o3", "openai/anything-at-all"):
        found = litellm.validate_environment(model=model)
        assert missing_keys(model) == (
            [] if found["keys_in_environment"] else found["missing_keys"]
        )
    assert missing_keys("openai/gpt-4o-mini") == ([] if key is not None else ["OPENAI_API_KEY"])

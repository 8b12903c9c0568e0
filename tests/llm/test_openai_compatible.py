"""An `openai/` model on the user's server (`--api-base`) is spoken to without litellm
(dgm/llm/openai_compatible.py): the same request goes out, every failure gets the kind
litellm's path gives it, and prices are litellm's, read from its price map as a file."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest

from dgm.llm import LLMError, open_provider
from dgm.llm.fake_upstream import FakeUpstream
from dgm.llm.openai_compatible import OpenAICompatibleProvider
from dgm.llm.prices import openai_price, price_map
from dgm.llm.provider import Provider
from dgm.llm.upstream import LiteLLMProvider, price
from tests.llm.conftest import FAKE_KEY, ask

PROBE = """
import sys
from dgm.llm.models import open_provider
p = open_provider("openai/gpt-4o-mini", api_base="http://127.0.0.1:9/v1")
print(type(p).__name__, p.cost(1_000_000, 0) > 0, "litellm" in sys.modules)
"""


def test_an_openai_model_on_the_users_server_never_imports_litellm() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-1500:]
    assert done.stdout.split() == ["OpenAICompatibleProvider", "True", "False"]


def test_only_openai_models_with_an_api_base_are_spoken_to_directly(
    upstream: FakeUpstream,
) -> None:
    assert isinstance(
        open_provider("openai/m", api_base=upstream.base_url), OpenAICompatibleProvider
    )
    assert isinstance(open_provider("hosted_vllm/m", api_base=upstream.base_url), LiteLLMProvider)
    assert isinstance(open_provider("openai/gpt-4o-mini"), LiteLLMProvider)  # OpenAI itself


def both(base_url: str, timeout_s: float = 300.0) -> list[Provider]:
    return [
        OpenAICompatibleProvider("openai/fake-model", base_url, timeout_s=timeout_s),
        LiteLLMProvider("openai/fake-model", api_base=base_url, timeout_s=timeout_s),
    ]


def kind_of(provider: Provider, request: dict) -> str:
    with pytest.raises(LLMError) as err:
        provider.complete(request, "key")
    return err.value.kind


@pytest.mark.parametrize(
    "fault,kind",
    [
        ("429", "rate_limit"),
        ("500", "server_error"),
        ("503", "server_error"),
        ("400", "bad_request"),
        ("context", "context_length"),
        ("401", "auth"),
        ("drop", "connection"),
        ("malformed", "bad_response"),
        ("empty", "bad_response"),
        ("negative_usage", "bad_response"),
        ("list_usage", "bad_response"),
        ("text_usage", "bad_response"),
        ("slow:1.0", "timeout"),
    ],
)
def test_every_failure_gets_the_kind_litellms_path_gives_it(
    upstream: FakeUpstream, fault: str, kind: str
) -> None:
    got = []
    for provider in both(upstream.base_url, timeout_s=0.3):
        upstream.plan(fault)
        got.append(kind_of(provider, {"model": "x", "messages": ask("hi")["messages"]}))
    assert got == [kind, kind]


@pytest.mark.parametrize(
    "fault,said",
    [
        ("list_usage", "usage is not an object: [5, 5]"),
        ("text_usage", "usage.prompt_tokens is not a number: 'five'"),
    ],
)
def test_usage_not_in_openais_shape_is_a_bad_response_in_one_line(
    upstream: FakeUpstream, fault: str, said: str
) -> None:
    upstream.plan(fault)
    direct = OpenAICompatibleProvider("openai/fake-model", upstream.base_url)
    with pytest.raises(LLMError) as err:
        direct.complete(ask("hi"), "k")
    assert err.value.kind == "bad_response" and said in str(err.value)
    assert len(str(err.value).splitlines()) == 1


def test_a_caller_that_hangs_up_prints_no_traceback_from_the_fake_server(
    upstream: FakeUpstream, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its thread would print it while pytest imports (parses) a test module: on CPython
    3.11 the two parses share one AST recursion counter ("AST constructor recursion depth
    mismatch" in a test run)."""
    upstream.plan("slow:0.5")
    with pytest.raises(httpx.TimeoutException):
        httpx.post(f"{upstream.base_url}/chat/completions", json=ask("hi"), timeout=0.1)
    time.sleep(1.0)  # the server answers into the closed connection
    assert [r["behaviour"] for r in upstream.requests] == ["slow:0.5"]
    assert "Traceback" not in capsys.readouterr().err


def test_a_server_that_is_not_there_is_a_connection_error() -> None:
    for provider in both("http://127.0.0.1:9/v1"):
        assert kind_of(provider, ask("hi")) == "connection"


def test_a_refused_key_is_not_retried_and_the_key_only_goes_upstream(
    upstream: FakeUpstream,
) -> None:
    direct = OpenAICompatibleProvider("openai/fake-model", upstream.base_url)
    upstream.plan("401")
    with pytest.raises(LLMError) as err:
        direct.complete(ask("hi"), "key")
    assert err.value.kind == "auth" and not err.value.retryable
    assert upstream.requests[0]["headers"]["Authorization"] == f"Bearer {FAKE_KEY}"


def test_no_key_in_the_environment_sends_a_placeholder(
    upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    OpenAICompatibleProvider("openai/fake-model", upstream.base_url).complete(ask("hi"), "k")
    assert upstream.requests[0]["headers"]["Authorization"] == "Bearer no-key"


def test_the_same_request_goes_out_and_the_servers_answer_comes_back(
    upstream: FakeUpstream,
) -> None:
    request = {
        **ask("say it twice"),
        "temperature": 0.7,
        "n": 2,
        "response_format": {"type": "json_object"},
    }
    done = OpenAICompatibleProvider("openai/fake-model", upstream.base_url).complete(request, "k")
    litellm_done = LiteLLMProvider("openai/fake-model", api_base=upstream.base_url).complete(
        request, "k"
    )
    direct, via_litellm = (r["body"] for r in upstream.requests)
    assert direct == {**request, "model": "fake-model"}
    assert {k: direct[k] for k in via_litellm} == via_litellm  # litellm sends no more
    body = json.loads(done.body)
    assert [c["message"]["content"] for c in body["choices"]] == ["echo: say it twice"] * 2
    assert (done.tokens_in, done.tokens_out) == (litellm_done.tokens_in, litellm_done.tokens_out)
    assert done.tokens_out > 0 and done.cost_usd == 0.0  # a name OpenAI does not sell


def test_prices_from_the_map_file_are_litellms_for_every_openai_name() -> None:
    names = [*price_map(), "fake-model", "claude-3-haiku-20240307", "gemini/gemini-pro"]
    assert len(names) > 1000  # the real map, not an empty one
    for tokens_in, tokens_out in ((1234, 567), (300_000, 1000)):  # short, past long tiers
        differ = [
            n
            for n in names
            if (a := price(f"openai/{n}", tokens_in, tokens_out))
            != (b := openai_price(f"openai/{n}", tokens_in, tokens_out))
            and not (a is not None and b is not None and abs(a - b) <= 1e-12 * max(a, 1))
        ]
        assert differ == [], tokens_in
    assert (openai_price("openai/gpt-4o-mini", 1_000_000, 0) or 0) > 0.01

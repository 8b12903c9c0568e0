"""The operators' chat posts to the gateway's socket without the openai SDK
(dgm/llm/gateway_client.py), and what it raises reads as the SDK's would: a failed
expansion records `f"{type(e).__name__}: {e}"`, and `from_client_error` reads its body."""

from __future__ import annotations

import openai
import pytest

from dgm.llm import Budget, BudgetExceeded, Gateway, LLMError, from_client_error, open_provider
from dgm.llm.fake_upstream import FakeUpstream
from dgm.mutators.chat import GatewayChat
from tests.llm.conftest import FAST

ASK = [{"role": "user", "content": "x"}]


def recorded(e: BaseException) -> str:
    """What a failed expansion records of an exception (dgm/loop.py `expand`)."""
    return f"{type(e).__name__}: {e}"


def both_fail(gw: Gateway, upstream: FakeUpstream, plan: tuple[str, ...]) -> tuple[str, str]:
    """The SDK's error and the chat's for the same failure, as a failed expansion records
    them; each asserted to convert back to the same gateway error."""
    upstream.plan(*plan)
    with pytest.raises(openai.OpenAIError) as sdk:
        gw.client(purpose="mutate").chat.completions.create(model="m", messages=ASK)  # type: ignore[arg-type]
    upstream.plan(*plan)
    with pytest.raises(Exception) as ours:
        GatewayChat(gw).complete(ASK, purpose="mutate")
    theirs, mine = from_client_error(sdk.value), from_client_error(ours.value)
    assert (type(mine), mine.kind, mine.message) == (type(theirs), theirs.kind, theirs.message)
    return recorded(sdk.value), recorded(ours.value)


@pytest.mark.parametrize(
    "plan",
    [("400",), ("401",), ("context",), ("429",) * FAST.tries, ("500",) * FAST.tries],
    ids=["bad_request", "auth", "context", "rate_limit", "server_error"],
)
def test_an_upstream_failure_reads_as_the_sdks(upstream: FakeUpstream, plan: tuple[str]) -> None:
    provider = open_provider("openai/fake-model", api_base=upstream.base_url)
    with Gateway(provider, retry=FAST) as gw:
        sdk, ours = both_fail(gw, upstream, plan)
    assert ours == sdk and ours.split(":")[0].endswith("Error") and "Error code: " in ours


def test_a_spent_budget_reads_as_the_sdks_and_converts_to_budget_exceeded(
    upstream: FakeUpstream,
) -> None:
    provider = open_provider("openai/fake-model", api_base=upstream.base_url)
    with Gateway(provider, budget=Budget(max_calls=0), retry=FAST) as gw:
        sdk, ours = both_fail(gw, upstream, ())
        with pytest.raises(Exception) as err:
            GatewayChat(gw).complete(ASK, purpose="mutate")
    assert ours == sdk and ours.startswith("RateLimitError: Error code: 429 - {'error': ")
    assert isinstance(from_client_error(err.value), BudgetExceeded)


def test_a_gateway_that_is_gone_is_a_connection_error(upstream: FakeUpstream) -> None:
    provider = open_provider("openai/fake-model", api_base=upstream.base_url)
    with Gateway(provider, retry=FAST) as gw:
        chat = GatewayChat(gw)
        assert chat.complete(ASK, purpose="mutate") == "echo: x"
        sdk_client = gw.client(purpose="mutate")
    with pytest.raises(openai.APIConnectionError) as sdk:
        sdk_client.chat.completions.create(model="m", messages=ASK)  # type: ignore[arg-type]
    with pytest.raises(Exception) as gone:
        chat.complete(ASK, purpose="mutate")  # its client was closed with the gateway
    assert recorded(gone.value) == recorded(sdk.value) == "APIConnectionError: Connection error."
    converted = from_client_error(gone.value)
    assert type(converted) is LLMError and converted.kind == "connection"


def test_the_request_carries_the_model_schema_and_n(upstream: FakeUpstream) -> None:
    provider = open_provider("openai/fake-model", api_base=upstream.base_url)
    with Gateway(provider, retry=FAST) as gw:
        chat = GatewayChat(gw, temperature=0.7, max_tokens=50)
        schema = {"type": "object", "properties": {"a": {"type": "string"}}}
        assert chat.complete(ASK, purpose="mutate", schema=schema) == "echo: x"
        assert chat.samples(ASK, 3, purpose="mutate") == ["echo: x"] * 3
    first, second = (r["body"] for r in upstream.requests)
    assert first["response_format"]["json_schema"] == {
        "name": "mutate",
        "schema": schema,
        "strict": True,
    }
    assert first["temperature"] == 0.7 and first["max_tokens"] == 50
    assert second["n"] == 3 and "response_format" not in second

"""The gateway against a real OpenAI-protocol server: `openai/` models on it go through the
direct HTTP client (dgm/llm/openai_compatible.py), `LiteLLMProvider` where named."""

from __future__ import annotations

import json
import threading
from typing import Any

import openai
import pytest

from dgm.llm import Budget, Gateway, open_provider
from dgm.llm.fake_upstream import FakeUpstream
from dgm.llm.upstream import LiteLLMProvider
from tests.llm.conftest import FAKE_KEY, FAST, ask, post_chat

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "edit_file",
            "description": "edit",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
        },
    }
]


def test_host_client_gets_the_upstream_answer_and_the_key_goes_upstream_only(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    client = gateway.client(purpose="diagnose")
    r = client.chat.completions.create(
        model="anything", messages=[{"role": "user", "content": "hello there"}]
    )
    assert r.choices[0].message.content == "echo: hello there"
    [seen] = upstream.requests
    assert seen["headers"]["Authorization"] == f"Bearer {FAKE_KEY}"
    assert (
        seen["body"]["model"] == "fake-model"
    )  # the gateway's model, whatever the client asked for
    assert gateway.usage().calls == 1 and gateway.usage().tokens_out > 0


def test_session_env_points_into_the_sandbox_mount_and_holds_no_key(gateway: Gateway) -> None:
    s = gateway.open_session(agent_id="a1", task_id="t1")
    assert set(s.env) == {"DGM_LLM_SOCKET", "DGM_LLM_TOKEN", "DGM_LLM_MODEL"}
    assert s.env["DGM_LLM_SOCKET"].startswith("/run/dgm/")
    assert s.env["DGM_LLM_MODEL"] == "openai/fake-model"
    assert FAKE_KEY not in json.dumps(s.env)


def test_unknown_or_missing_token_is_refused(gateway: Gateway, upstream: FakeUpstream) -> None:
    status, body, _ = post_chat(gateway.socket_path, "not-a-token", ask("hi"))
    assert status == 401 and body["error"]["type"] == "auth"
    status, _, _ = post_chat(gateway.socket_path, None, ask("hi"))
    assert status == 401
    assert upstream.requests == []


@pytest.mark.parametrize(
    "fault,kind",
    [
        ("429", "rate_limit"),
        ("500", "server_error"),
        ("503", "server_error"),
        ("drop", "connection"),
        ("malformed", "bad_response"),
    ],
)
def test_transient_faults_are_retried_until_an_answer(
    gateway: Gateway, upstream: FakeUpstream, fault: str, kind: str
) -> None:
    upstream.plan(fault, fault)
    s = gateway.open_session()
    status, body, _ = post_chat(gateway.socket_path, s.token, ask("retry me"))
    assert status == 200, body
    assert body["choices"][0]["message"]["content"] == "echo: retry me"
    assert [r["behaviour"] for r in upstream.requests] == [fault, fault, "ok"]
    assert gateway.usage(s).calls == 1 and gateway.usage(s).errors == 0


@pytest.mark.parametrize(
    "fault,kind,status",
    [("500", "server_error", 502), ("429", "rate_limit", 502), ("malformed", "bad_response", 502)],
)
def test_persistent_faults_fail_with_their_kind_and_the_gateway_lives_on(
    gateway: Gateway, upstream: FakeUpstream, fault: str, kind: str, status: int
) -> None:
    upstream.plan(*[fault] * FAST.tries)
    s = gateway.open_session()
    got, body, _ = post_chat(gateway.socket_path, s.token, ask("doomed"))
    assert got == status and body["error"]["type"] == kind
    assert len(upstream.requests) == FAST.tries
    got, body, _ = post_chat(gateway.socket_path, s.token, ask("fine now"))
    assert got == 200 and body["choices"][0]["message"]["content"] == "echo: fine now"
    assert gateway.usage(s).errors == 1


def test_a_client_error_is_not_retried(gateway: Gateway, upstream: FakeUpstream) -> None:
    upstream.plan("400")
    s = gateway.open_session()
    got, body, _ = post_chat(gateway.socket_path, s.token, ask("bad"))
    assert got == 400 and body["error"]["type"] == "bad_request"
    assert len(upstream.requests) == 1


def test_a_context_overflow_is_its_own_kind_and_counted_for_the_session(
    upstream: FakeUpstream, store: Any
) -> None:
    run = store.create_run("r")
    with Gateway(
        open_provider("openai/fake-model", api_base=upstream.base_url),
        archive=store,
        run_id=run,
        retry=FAST,
    ) as gw:
        upstream.plan("context")
        s = gw.open_session(task_id="t1")
        got, body, _ = post_chat(gw.socket_path, s.token, ask("a very long prompt"))
        assert got == 400 and body["error"]["type"] == "context_length"
        assert gw.usage(s).context_overflows == 1 and gw.usage(s).errors == 1
        assert gw.usage(gw.open_session(task_id="t2")).context_overflows == 0
        gw.flush()
    assert [c.error_kind for c in store.llm_calls(run, bodies=False)] == ["context_length"]
    assert len(upstream.requests) == 1  # not retried: the same request cannot fit next time


def test_slow_upstream_times_out_and_is_retried(upstream: FakeUpstream) -> None:
    provider = LiteLLMProvider("openai/fake-model", api_base=upstream.base_url, timeout_s=0.3)
    upstream.plan("slow:1.0")
    with Gateway(provider, retry=FAST) as gw:
        s = gw.open_session()
        got, body, _ = post_chat(gw.socket_path, s.token, ask("slowly"))
        assert got == 200, body
        assert [r["behaviour"] for r in upstream.requests] == ["slow:1.0", "ok"]
        upstream.plan(*["slow:1.0"] * FAST.tries)
        got, body, _ = post_chat(gw.socket_path, s.token, ask("too slowly"))
        assert got == 504 and body["error"]["type"] == "timeout"


def test_tool_calls_pass_both_ways(gateway: Gateway, upstream: FakeUpstream) -> None:
    upstream.plan("tool_call")
    client = gateway.client(purpose="agent")
    r = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "fix it"}], tools=TOOLS
    )
    [call] = r.choices[0].message.tool_calls
    assert call.function.name == "edit_file" and json.loads(call.function.arguments) == {
        "command": "echo hi"
    }
    assert upstream.requests[0]["body"]["tools"][0]["function"]["name"] == "edit_file"
    # the follow-up turn carrying the tool result goes through too
    r2 = client.chat.completions.create(
        model="m",
        tools=TOOLS,
        messages=[
            {"role": "user", "content": "fix it"},
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "done"},
        ],
    )
    assert r2.choices[0].message.content == "echo: done"


def test_session_budget_gives_an_actionable_429_and_is_not_retried(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    client = gateway.client(purpose="agent", budget=Budget(max_calls=2))
    for i in range(2):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": f"q{i}"}])
    with pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "one more"}]
        )
    assert err.value.status_code == 429
    assert err.value.body["type"] == "budget_exceeded"
    assert "2 of 2 calls" in err.value.body["message"]
    assert len(upstream.requests) == 2


def test_run_budget_spans_sessions_and_token_budgets_bite_after_the_crossing_call(
    upstream: FakeUpstream,
) -> None:
    provider = open_provider("openai/fake-model", api_base=upstream.base_url)
    with Gateway(provider, run_id=None, budget=Budget(max_calls=3), retry=FAST) as gw:
        a, b = gw.open_session(agent_id="a"), gw.open_session(agent_id="b")
        codes = [post_chat(gw.socket_path, s.token, ask("x"))[0] for s in (a, b, a, b)]
        assert codes == [200, 200, 200, 429]
    with Gateway(provider, retry=FAST) as gw:
        s = gw.open_session(budget=Budget(max_tokens=10))
        long = "word " * 40  # ~50 tokens each way
        assert post_chat(gw.socket_path, s.token, ask(long))[0] == 200
        status, body, _ = post_chat(gw.socket_path, s.token, ask(long))
        assert status == 429 and "tokens used" in body["error"]["message"]


def test_task_budget_applies_across_sessions_of_the_same_task(upstream: FakeUpstream) -> None:
    provider = open_provider("openai/fake-model", api_base=upstream.base_url)
    with Gateway(provider, task_budget=Budget(max_calls=1), retry=FAST) as gw:
        s1 = gw.open_session(agent_id="a", task_id="t1")
        s2 = gw.open_session(agent_id="a", task_id="t1")
        s3 = gw.open_session(agent_id="a", task_id="t2")
        assert post_chat(gw.socket_path, s1.token, ask("x"))[0] == 200
        status, body, _ = post_chat(gw.socket_path, s2.token, ask("x"))
        assert status == 429 and "task t1" in body["error"]["message"]
        assert post_chat(gw.socket_path, s3.token, ask("x"))[0] == 200


def test_sixteen_concurrent_callers_never_exceed_a_call_budget(upstream: FakeUpstream) -> None:
    provider = open_provider("openai/fake-model", api_base=upstream.base_url)
    with Gateway(provider, budget=Budget(max_calls=5), retry=FAST) as gw:
        s = gw.open_session()
        codes: list[int] = []
        lock = threading.Lock()

        def one(i: int) -> None:
            status = post_chat(gw.socket_path, s.token, ask(f"caller {i}"))[0]
            with lock:
                codes.append(status)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(codes) == [200] * 5 + [429] * 11
        assert len(upstream.requests) == 5


def test_bad_requests_get_clear_400s(gateway: Gateway, upstream: FakeUpstream) -> None:
    s = gateway.open_session()
    for payload, phrase in [
        (b"{not json", "bad request"),
        (ask("x", stream=True), "streaming"),
        ({"messages": []}, "non-empty `messages`"),
    ]:
        status, body, _ = post_chat(gateway.socket_path, s.token, payload)
        assert status == 400 and phrase in body["error"]["message"]
    assert upstream.requests == []


def test_models_endpoint_names_the_served_model(gateway: Gateway) -> None:
    client = gateway.client()
    assert [m.id for m in client.models.list().data] == ["openai/fake-model"]


def test_optional_tcp_port_serves_the_same_protocol(upstream: FakeUpstream) -> None:
    with Gateway(open_provider("openai/fake-model", api_base=upstream.base_url), port=0) as gw:
        s = gw.open_session()
        client = openai.OpenAI(
            base_url=f"http://127.0.0.1:{gw.port}/v1", api_key=s.token, max_retries=0
        )
        r = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "tcp"}])
        assert r.choices[0].message.content == "echo: tcp"


def test_socket_lives_in_a_private_dir_others_can_enter_and_is_removed_on_close(
    upstream: FakeUpstream,
) -> None:
    import os
    import stat
    from pathlib import Path

    with Gateway(open_provider("openai/fake-model", api_base=upstream.base_url)) as gw:
        sock = Path(gw.socket_path)
        assert stat.S_ISSOCK(sock.stat().st_mode)
        assert stat.S_IMODE(sock.stat().st_mode) == 0o666
        assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o755
        assert sock.parent.stat().st_uid == os.getuid()
    assert not sock.exists() and not sock.parent.exists()


def test_a_key_echoed_by_the_upstream_is_masked_in_the_reply_and_the_log(
    gateway: Gateway, upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    upstream.plan("401")
    s = gateway.open_session()
    status, body, raw = post_chat(gateway.socket_path, s.token, ask("hi"))
    assert status == 401 and body["error"]["type"] == "auth"
    assert "Incorrect API key provided: ***" in body["error"]["message"]
    assert FAKE_KEY.encode() not in raw
    assert FAKE_KEY not in caplog.text
    assert len(upstream.requests) == 1  # a refused key is not retried


def test_usd_budget_uses_litellms_price_map(upstream: FakeUpstream) -> None:
    # A priced model name, served by the test server: the cost comes from litellm's price map.
    provider = open_provider("openai/gpt-4o-mini", api_base=upstream.base_url)
    expected = provider.cost(1_000_000, 0)
    assert 0.01 < expected < 10  # dollars per million input tokens: priced, not zero
    with Gateway(provider, budget=Budget(max_usd=1e-9), retry=FAST) as gw:
        s = gw.open_session()
        status, body, _ = post_chat(gw.socket_path, s.token, ask("word " * 100))
        assert status == 200
        spent = gw.usage(s)
        assert (
            spent.cost_usd == pytest.approx(provider.cost(spent.tokens_in, spent.tokens_out))
            and spent.cost_usd > 0
        )
        status, body, _ = post_chat(gw.socket_path, s.token, ask("again"))
        assert status == 429 and "spent" in body["error"]["message"]


def test_host_side_errors_convert_back_to_gateway_errors(upstream: FakeUpstream) -> None:
    from dgm.llm import BudgetExceeded, LLMError, from_client_error

    provider = open_provider("openai/fake-model", api_base=upstream.base_url)
    with Gateway(provider, budget=Budget(max_calls=0), retry=FAST) as gw:
        client = gw.client(purpose="diagnose")
        with pytest.raises(openai.RateLimitError) as err:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        converted = from_client_error(err.value)
        assert isinstance(converted, BudgetExceeded) and "0 of 0 calls" in converted.message
    with Gateway(provider, retry=FAST) as gw:
        upstream.plan(*["500"] * FAST.tries)
        with pytest.raises(openai.APIStatusError) as err:
            gw.client().chat.completions.create(
                model="m", messages=[{"role": "user", "content": "x"}]
            )
        converted = from_client_error(err.value)
        assert type(converted) is LLMError and converted.kind == "server_error"


def test_garbage_and_hangups_on_the_socket_do_not_hurt_the_gateway(gateway: Gateway) -> None:
    import socket

    for junk in (
        b"GARBAGE\r\n\r\n",
        b'POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 500\r\n\r\n{"mess',
        b"\x00\xff" * 100,
        b"",
    ):
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(gateway.socket_path)
        sock.sendall(junk)
        sock.close()  # hang up mid-request
    s = gateway.open_session()
    status, body, _ = post_chat(gateway.socket_path, s.token, ask("still there?"))
    assert status == 200 and body["choices"][0]["message"]["content"] == "echo: still there?"


def test_negative_token_counts_from_upstream_are_a_bad_response(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    upstream.plan(*["negative_usage"] * FAST.tries)
    s = gateway.open_session()
    got, body, _ = post_chat(gateway.socket_path, s.token, ask("cheap"))
    assert got == 502 and body["error"]["type"] == "bad_response"
    assert "negative token counts" in body["error"]["message"]
    usage = gateway.usage(s)
    assert usage.tokens_in >= 0 and usage.tokens_out >= 0 and usage.cost_usd >= 0

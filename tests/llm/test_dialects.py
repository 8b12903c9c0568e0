"""The SDK dialects (dgm/llm/dialects.py) over HTTP against the real gateway: Anthropic
Messages and its Bedrock route, OpenAI chat completions and Responses, tool use in each
wire format, the model map, and every call recorded in a real archive."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from dgm.llm import Gateway
from dgm.llm.dialects import anthropic_to_chat, responses_to_chat, token_of
from dgm.llm.relay import NodeRelay, RelayHub
from dgm.llm.scripted import ScriptedEntry, ScriptedProvider, ScriptedToolCall
from dgm.llm.wire import content_text
from dgm.ui.html import json_text
from tests.llm.conftest import UnixHTTPConnection

MODELS = {
    "claude-3-5-sonnet-20241022": "run",
    "us.anthropic.claude-3-5-sonnet-20241022-v2:0": "run",
    "o3-mini": "run",
}
SCRIPT = [
    ScriptedEntry(
        pattern="fix the bug",
        tool_calls=[ScriptedToolCall(name="bash", arguments={"command": "ls /testbed"})],
    ),
    ScriptedEntry(pattern="^setup.py", content="Done: the listing shows setup.py."),
]


@pytest.fixture
def served(store: Any) -> Iterator[tuple[Gateway, str, str]]:
    run = store.create_run("sdk")
    provider = ScriptedProvider(SCRIPT, model="scripted-tools")
    with Gateway(provider, archive=store, run_id=run, port=0, agent_models=MODELS) as gw:
        s = gw.open_session(agent_id=None, task_id="t1", purpose="agent")
        yield gw, s.token, run


def post(gw: Gateway, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json", **headers})
    resp = conn.getresponse()
    data = json.loads(resp.read())
    conn.close()
    return resp.status, data


def sdk_client(gw: Gateway, token: str) -> openai.OpenAI:
    url = f"http://127.0.0.1:{gw.port}/sdk/v1"
    return openai.OpenAI(api_key=token, base_url=url, max_retries=0)


TOOLS = [
    {
        "name": "bash",
        "description": "run a command",
        "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
    }
]


def test_anthropic_tool_use_round_trip_is_recorded(
    served: tuple[Gateway, str, str], store: Any
) -> None:
    gw, token, run = served
    headers = {"x-api-key": token, "anthropic-version": "2023-06-01"}
    first = {"role": "user", "content": [{"type": "text", "text": "Please fix the bug."}]}
    body = {
        "model": "claude-3-5-sonnet-20241022",
        "max_tokens": 100,
        "tools": TOOLS,
        "messages": [first],
    }
    status, reply = post(gw, "/sdk/v1/messages", body, headers)
    assert status == 200, reply
    assert reply["type"] == "message" and reply["stop_reason"] == "tool_use"
    (use,) = reply["content"]
    assert use["type"] == "tool_use" and use["name"] == "bash"
    assert use["input"] == {"command": "ls /testbed"}
    result = {"type": "tool_result", "tool_use_id": use["id"], "content": "setup.py\nsrc"}
    body["messages"] = [
        first,
        {"role": "assistant", "content": reply["content"]},
        {"role": "user", "content": [result]},
    ]
    status, reply = post(gw, "/sdk/v1/messages", body, headers)
    assert status == 200, reply
    assert reply["stop_reason"] == "end_turn"
    assert reply["content"] == [{"type": "text", "text": "Done: the listing shows setup.py."}]
    assert reply["usage"]["input_tokens"] > 0
    gw.flush()
    calls = store.llm_calls(run)
    assert [(c.purpose, c.task_id, c.model, c.error_kind) for c in calls] == [
        ("agent", "t1", "scripted-tools", None)
    ] * 2
    sent = json.loads(calls[1].request)  # what the gateway recorded: the chat form of the call
    assert sent["messages"][1]["tool_calls"][0]["id"] == use["id"]
    assert sent["messages"][2] == {
        "role": "tool",
        "tool_call_id": use["id"],
        "content": "setup.py\nsrc",
    }
    assert sent["tools"][0]["function"]["parameters"] == TOOLS[0]["input_schema"]


def test_bedrock_route_takes_the_model_from_the_path_and_the_token_from_sigv4(
    served: tuple[Gateway, str, str],
) -> None:
    gw, token, _ = served
    auth = f"AWS4-HMAC-SHA256 Credential={token}/20261206/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=00"
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "tools": TOOLS,
        "messages": [{"role": "user", "content": "fix the bug"}],
    }
    path = "/sdk/model/us.anthropic.claude-3-5-sonnet-20241022-v2%3A0/invoke"
    status, reply = post(gw, path, body, {"Authorization": auth})
    assert status == 200, reply
    assert reply["content"][0]["type"] == "tool_use"
    status, reply = post(gw, path, body, {"Authorization": auth.replace(token, "forged")})
    assert status == 401 and reply["type"] == "error" and reply["error"]["type"] == "auth"


def test_openai_sdk_responses_and_chat_with_function_calls(
    served: tuple[Gateway, str, str],
) -> None:
    gw, token, _ = served
    client = sdk_client(gw, token)
    tools = [
        {
            "type": "function",
            "name": "bash",
            "description": "run",
            "parameters": TOOLS[0]["input_schema"],
        }
    ]
    ask = [{"role": "user", "content": [{"type": "input_text", "text": "fix the bug"}]}]
    response = client.responses.create(model="o3-mini", input=ask, tools=tools, tool_choice="auto")  # type: ignore[arg-type]
    (call,) = [o for o in response.output if o.type == "function_call"]
    assert call.name == "bash" and json.loads(call.arguments) == {"command": "ls /testbed"}
    follow = [
        *ask,
        call,
        {"type": "function_call_output", "call_id": call.call_id, "output": "setup.py"},
    ]
    response = client.responses.create(model="o3-mini", input=follow, tools=tools)  # type: ignore[arg-type]
    assert response.output_text == "Done: the listing shows setup.py."
    chat = client.chat.completions.create(
        model="o3-mini",
        messages=[{"role": "user", "content": "fix the bug"}],
        tools=[
            {
                "type": "function",
                "function": {"name": "bash", "parameters": TOOLS[0]["input_schema"]},
            }
        ],
    )
    assert chat.choices[0].message.tool_calls[0].function.name == "bash"  # type: ignore[index, union-attr]


def test_an_unmapped_model_name_fails_the_call_recorded_naming_the_name_and_the_key(
    served: tuple[Gateway, str, str], store: Any
) -> None:
    gw, token, run = served
    client = sdk_client(gw, token)
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(
            model="gpt-9-turbo", messages=[{"role": "user", "content": "hi"}]
        )
    message = str(e.value)
    assert "'gpt-9-turbo'" in message and "agent_format.models" in message
    status, reply = post(
        gw,
        "/sdk/v1/messages",
        {"model": "claude-2", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
        {"x-api-key": token},
    )
    assert (
        status == 400
        and reply["error"]["type"] == "model_not_mapped"
        and "'claude-2'" in reply["error"]["message"]
    )
    gw.flush()
    calls = store.llm_calls(run)
    assert [c.error_kind for c in calls] == ["model_not_mapped"] * 2
    assert json.loads(calls[0].request)["model"] == "gpt-9-turbo"
    assert "agent_format.models" in calls[0].response.decode()
    assert gw.usage().errors == 2


def test_translation_keeps_tool_results_before_text_and_maps_tool_choice() -> None:
    chat = anthropic_to_chat(
        {
            "model": "m",
            "system": [{"type": "text", "text": "be brief"}],
            "tool_choice": {"type": "tool", "name": "bash"},
            "tools": TOOLS,
            "stop_sequences": ["END"],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "a",
                            "content": [{"type": "text", "text": "out"}],
                            "is_error": True,
                        },
                        {"type": "text", "text": "and now?"},
                    ],
                },
            ],
        }
    )
    assert chat["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "tool", "tool_call_id": "a", "content": "error: out"},
        {"role": "user", "content": "and now?"},
    ]
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "bash"}}
    assert chat["stop"] == ["END"]
    two = responses_to_chat(
        {
            "model": "m",
            "instructions": "sys",
            "input": [
                {"type": "function_call", "call_id": "c1", "name": "a", "arguments": "{}"},
                {"type": "function_call", "call_id": "c2", "name": "b", "arguments": "{}"},
            ],
        }
    )
    assert [m["role"] for m in two["messages"]] == ["system", "assistant"]
    assert [c["id"] for c in two["messages"][1]["tool_calls"]] == ["c1", "c2"]
    assert token_of({"Authorization": "Bearer t1"}) == "t1"
    assert token_of({"x-api-key": "t2"}) == "t2"
    assert (
        token_of({"Authorization": "AWS4-HMAC-SHA256 Credential=t3/2026/r/s/aws4_request"}) == "t3"
    )


def test_an_sdk_call_through_a_node_relay_is_translated_there_and_mapped_at_the_hub(
    served: tuple[Gateway, str, str], store: Any
) -> None:
    gw, token, run = served
    hub = RelayHub(gw)
    relay = NodeRelay(hub.address, hub.token, "llm.sock")
    try:
        body = {"model": "claude-3-5-sonnet-20241022", "max_tokens": 50, "tools": TOOLS,
                "messages": [{"role": "user", "content": "fix the bug"}]}  # fmt: skip
        for model, status in [("claude-3-5-sonnet-20241022", 200), ("claude-2", 400)]:
            conn = UnixHTTPConnection(relay.socket_path)
            conn.request("POST", "/sdk/v1/messages", json.dumps({**body, "model": model}),
                         {"x-api-key": token, "Content-Type": "application/json"})  # fmt: skip
            resp = conn.getresponse()
            reply = json.loads(resp.read())
            conn.close()
            assert resp.status == status, reply
            assert reply["type"] == ("message" if status == 200 else "error")
    finally:
        relay.close()
        hub.close()
    gw.flush()
    assert [c.error_kind for c in store.llm_calls(run)] == [None, "model_not_mapped"]


def sse_events(gw: Gateway, path: str, body: dict[str, Any], headers: dict[str, str]) -> list:
    """(event name, data) of a streamed answer, read as a client of SSE reads them."""
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json", **headers})
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Type") == "text/event-stream"
    text = resp.read().decode()
    conn.close()
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields.get("event"), json.loads(fields["data"])))
    return events


def test_anthropic_streaming_gives_the_answer_as_its_events(
    served: tuple[Gateway, str, str], store: Any
) -> None:
    gw, token, run = served
    body = {
        "model": "claude-3-5-sonnet-20241022",
        "max_tokens": 100,
        "stream": True,
        "tools": TOOLS,
        "messages": [{"role": "user", "content": "fix the bug"}],
    }
    events = sse_events(gw, "/sdk/v1/messages", body, {"x-api-key": token})
    names = [name for name, _ in events]
    assert names == [
        "message_start", "content_block_start", "content_block_delta", "content_block_stop",
        "message_delta", "message_stop",
    ]  # fmt: skip
    assert all(data["type"] == name for name, data in events)
    start, block, delta = events[0][1], events[1][1], events[2][1]
    assert start["message"]["content"] == [] and start["message"]["usage"]["input_tokens"] > 0
    assert block["content_block"]["type"] == "tool_use" and block["content_block"]["name"] == "bash"
    assert delta["delta"]["type"] == "input_json_delta"
    assert json.loads(delta["delta"]["partial_json"]) == {"command": "ls /testbed"}
    assert events[4][1]["delta"]["stop_reason"] == "tool_use"
    gw.flush()
    (call,) = store.llm_calls(run)  # one call, recorded as any other
    assert call.error_kind is None and "stream" not in json.loads(call.request)


def test_openai_sdk_streams_chat_and_responses_with_function_calls(
    served: tuple[Gateway, str, str],
) -> None:
    gw, token, _ = served
    client = sdk_client(gw, token)
    fn = {"type": "function", "function": {"name": "bash", "parameters": TOOLS[0]["input_schema"]}}
    with client.chat.completions.stream(
        model="o3-mini",
        messages=[{"role": "user", "content": "fix the bug"}],
        tools=[fn],  # type: ignore[list-item]
        stream_options={"include_usage": True},
    ) as stream:
        final = stream.get_final_completion()
    (call,) = final.choices[0].message.tool_calls or []
    assert call.function.name == "bash"
    assert json.loads(call.function.arguments) == {"command": "ls /testbed"}
    assert final.choices[0].finish_reason == "tool_calls" and final.usage is not None
    chunks = list(
        client.chat.completions.create(
            model="o3-mini", messages=[{"role": "user", "content": "setup.py"}], stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
        "Done: the listing shows setup.py."
    )
    tools = [{"type": "function", "name": "bash", "parameters": TOOLS[0]["input_schema"]}]
    ask = [{"role": "user", "content": "fix the bug"}]
    with client.responses.stream(model="o3-mini", input=ask, tools=tools) as stream:  # type: ignore[arg-type]
        response = stream.get_final_response()
    (fc,) = [o for o in response.output if o.type == "function_call"]
    assert fc.name == "bash" and json.loads(fc.arguments) == {"command": "ls /testbed"}
    follow = [
        *ask,
        fc,
        {"type": "function_call_output", "call_id": fc.call_id, "output": "setup.py"},
    ]
    deltas = []
    with client.responses.stream(model="o3-mini", input=follow, tools=tools) as stream:  # type: ignore[arg-type]
        for event in stream:
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        response = stream.get_final_response()
    assert "".join(deltas) == response.output_text == "Done: the listing shows setup.py."


def test_a_bedrock_stream_is_refused_naming_invoke(served: tuple[Gateway, str, str]) -> None:
    gw, token, _ = served
    path = "/sdk/model/us.anthropic.claude-3-5-sonnet-20241022-v2%3A0/invoke-with-response-stream"
    status, reply = post(gw, path, {"messages": []}, {"x-api-key": token})
    assert status == 404 and "invoke without a stream" in reply["error"]["message"]


def test_content_text_reads_every_wire_format_and_the_page_shows_the_rest() -> None:
    assert content_text("plain") == "plain" and content_text(None) == ""
    parts = [
        {"type": "text", "text": "a"},
        {"type": "input_text", "text": "b"},
        {"type": "tool_result", "content": [{"type": "text", "text": "c"}]},
        {"type": "image_url", "image_url": {"url": "data:,"}},
    ]
    assert content_text(parts) == "a\nb\nc\n"
    shown = content_text(parts, json_text)  # the conversation page: an image as its JSON
    assert shown.startswith("a\nb\nc\n{") and '"image_url"' in shown

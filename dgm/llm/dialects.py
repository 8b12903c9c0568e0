"""The SDK dialects the gateway also speaks, for agents written against a vendor SDK
(DGM's `coding_agent.py`): each is translated to one chat-completions call and back.

    POST /sdk/v1/chat/completions     OpenAI chat completions (tools / tool_calls)
    POST /sdk/v1/responses            OpenAI Responses (function_call / function_call_output)
    POST /sdk/v1/messages             Anthropic Messages (tool_use / tool_result blocks)
    POST /sdk/model/{id}/invoke       Anthropic on Amazon Bedrock (the same body, model in the path)

Under /sdk every call goes to `App.sdk_chat`: the gateway maps the model name the agent's
code wrote to a model of the run (`agent_format.models`) and refuses, recorded, a name it
does not map. The session token is read from whichever header the SDK sends it in:
`Authorization: Bearer`, `x-api-key`, or the access key of an AWS SigV4 signature.
Pure functions apart from `handle`.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from dgm.llm.wire import Reply, content_text, tool_call, usage_of

PREFIX = "/sdk"
Json = dict[str, Any]


class DialectError(ValueError):
    """A request this translation cannot express as a chat-completions call."""


# -- the session token ---------------------------------------------------------------

SIGV4 = re.compile(r"Credential=([^/,\s]+)/")


def token_of(headers: Mapping[str, str]) -> str | None:
    """The session token, as OpenAI (Bearer), Anthropic (x-api-key) or a SigV4-signing
    Bedrock client (its access key id) sends it."""
    auth = headers.get("Authorization") or ""
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    if headers.get("x-api-key"):
        return headers["x-api-key"].strip()
    m = SIGV4.search(auth)
    return m.group(1) if m else None


# -- shared pieces ---------------------------------------------------------------------


def _arguments(raw: Any) -> Json:
    if isinstance(raw, dict):
        return raw
    try:
        parsed = json.loads(raw or "{}")
    except ValueError:
        return {"arguments": raw}
    return parsed if isinstance(parsed, dict) else {"arguments": parsed}


def _sampling(req: Json, out: Json, names: Mapping[str, str]) -> Json:
    for theirs, ours in names.items():
        if req.get(theirs) is not None:
            out[ours] = req[theirs]
    return out


def _message_and_calls(resp: Json) -> tuple[str, list[Json], str]:
    choice = (resp.get("choices") or [{}])[0]
    msg = choice.get("message") or {}
    return msg.get("content") or "", msg.get("tool_calls") or [], choice.get("finish_reason") or ""


# -- Anthropic Messages ------------------------------------------------------------------

ANTHROPIC_CHOICE = {"auto": "auto", "any": "required", "none": "none"}


def anthropic_to_chat(req: Json) -> Json:
    """An Anthropic Messages request as a chat-completions request."""
    messages: list[Json] = []
    if req.get("system"):
        messages.append({"role": "system", "content": content_text(req["system"])})
    for m in req.get("messages") or []:
        content = m.get("content")
        if isinstance(content, str):
            messages.append({"role": m.get("role"), "content": content})
            continue
        texts, calls, results = [], [], []
        for b in content or []:
            kind = b.get("type")
            if kind == "text":
                texts.append(b.get("text") or "")
            elif kind == "tool_use":
                calls.append(tool_call(b["name"], b.get("input") or {}, b["id"]))
            elif kind == "tool_result":
                text = content_text(b.get("content"))
                results.append(
                    {
                        "role": "tool",
                        "tool_call_id": b["tool_use_id"],
                        "content": f"error: {text}" if b.get("is_error") else text,
                    }
                )
            elif kind not in ("thinking", "redacted_thinking"):
                raise DialectError(f"content blocks of type {kind!r} are not supported")
        if m.get("role") == "assistant":
            turn: Json = {"role": "assistant", "content": "\n".join(texts) or None}
            if calls:
                turn["tool_calls"] = calls
            messages.append(turn)
        else:  # tool results answer the assistant turn before them: they come first
            messages += results
            if texts:
                messages.append({"role": "user", "content": "\n".join(texts)})
    out: Json = {"model": req.get("model"), "messages": messages}
    _sampling(
        req,
        out,
        {
            "max_tokens": "max_tokens",
            "temperature": "temperature",
            "top_p": "top_p",
            "stop_sequences": "stop",
        },
    )
    if req.get("tools"):
        out["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t["name"],
                    "description": t.get("description", ""),
                    "parameters": t.get("input_schema") or {"type": "object"},
                },
            }
            for t in req["tools"]
        ]
    choice = req.get("tool_choice") or {}
    if choice.get("type") == "tool":
        out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    elif choice.get("type") in ANTHROPIC_CHOICE and req.get("tools"):
        out["tool_choice"] = ANTHROPIC_CHOICE[choice["type"]]
    return out


def chat_to_anthropic(resp: Json, model: str) -> Json:
    """A chat.completion as an Anthropic Messages response."""
    text, calls, finish = _message_and_calls(resp)
    content: list[Json] = [{"type": "text", "text": text}] if text or not calls else []
    for c in calls:
        fn = c.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": c.get("id") or f"toolu_{uuid.uuid4().hex[:24]}",
                "name": fn.get("name"),
                "input": _arguments(fn.get("arguments")),
            }
        )
    stop = "tool_use" if calls else ("max_tokens" if finish == "length" else "end_turn")
    tokens_in, tokens_out = usage_of(resp)
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out},
    }


def anthropic_error(status: int, kind: str, message: str) -> bytes:
    return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()


# -- OpenAI Responses ----------------------------------------------------------------------


def _responses_tool(t: Json) -> Json:
    if t.get("type") != "function":
        raise DialectError(f"tools of type {t.get('type')!r} are not supported (functions only)")
    fn = {
        "name": t["name"],
        "description": t.get("description", ""),
        "parameters": t.get("parameters") or {},
    }
    return {"type": "function", "function": fn}


def responses_to_chat(req: Json) -> Json:
    """An OpenAI Responses request as a chat-completions request."""
    messages: list[Json] = []
    if req.get("instructions"):
        messages.append({"role": "system", "content": req["instructions"]})
    items = req.get("input")
    for item in [{"role": "user", "content": items}] if isinstance(items, str) else items or []:
        kind = item.get("type", "message")
        if kind == "function_call":
            call = tool_call(item["name"], item.get("arguments") or "{}", item["call_id"])
            last = messages[-1] if messages else {}
            if last.get("role") == "assistant":  # one turn may call several functions
                last.setdefault("tool_calls", []).append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            text = output if isinstance(output, str) else content_text(output)
            messages.append({"role": "tool", "tool_call_id": item["call_id"], "content": text})
        elif kind == "message":
            role = "system" if item.get("role") == "developer" else item.get("role")
            messages.append({"role": role, "content": content_text(item.get("content"))})
        elif kind != "reasoning":
            raise DialectError(f"input items of type {kind!r} are not supported")
    out: Json = {"model": req.get("model"), "messages": messages}
    _sampling(
        req,
        out,
        {"max_output_tokens": "max_tokens", "temperature": "temperature", "top_p": "top_p"},
    )
    if req.get("tools"):
        out["tools"] = [_responses_tool(t) for t in req["tools"]]
        choice = req.get("tool_choice")
        if isinstance(choice, dict) and choice.get("type") == "function":
            out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
        elif choice in ("auto", "required", "none"):
            out["tool_choice"] = choice
        if req.get("parallel_tool_calls") is not None:
            out["parallel_tool_calls"] = req["parallel_tool_calls"]
    return out


def chat_to_responses(resp: Json, model: str) -> Json:
    """A chat.completion as an OpenAI Responses object."""
    text, calls, _ = _message_and_calls(resp)
    output: list[Json] = []
    if text or not calls:
        output.append(
            {
                "type": "message",
                "id": f"msg_{uuid.uuid4().hex[:24]}",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        )
    for c in calls:
        fn = c.get("function") or {}
        output.append(
            {
                "type": "function_call",
                "id": f"fc_{uuid.uuid4().hex[:24]}",
                "call_id": c.get("id"),
                "name": fn.get("name"),
                "arguments": fn.get("arguments") or "{}",
                "status": "completed",
            }
        )
    tokens_in, tokens_out = usage_of(resp)
    return {
        "id": f"resp_{uuid.uuid4().hex[:24]}",
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "model": model,
        "output": output,
        "parallel_tool_calls": False,
        "tool_choice": "auto",
        "tools": [],
        "error": None,
        "incomplete_details": None,
        "usage": {
            "input_tokens": tokens_in,
            "output_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        },
    }


# -- streams ---------------------------------------------------------------------------------
# An SDK that asks for a stream (`stream: true`) gets the whole answer as the events of its
# dialect's stream, sent at once: the call behind it is one call, recorded and budgeted as
# any other; only the answer's wire shape changes.

SSE = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}


def sse(events: list[tuple[str | None, Json | str]]) -> bytes:
    """Server-sent events: each an optional `event:` name and its `data:` (JSON or text)."""
    out = []
    for name, data in events:
        text = data if isinstance(data, str) else json.dumps(data)
        out.append((f"event: {name}\n" if name else "") + f"data: {text}\n\n")
    return "".join(out).encode()


def chat_stream(resp: Json, usage: bool) -> bytes:
    """A chat.completion as OpenAI's chat.completion.chunk stream (and [DONE]); the usage
    chunk only when the request's stream_options asked for it, as OpenAI sends it."""
    text, calls, finish = _message_and_calls(resp)
    head = {k: resp.get(k) for k in ("id", "created", "model")}
    head["object"] = "chat.completion.chunk"

    def chunk(delta: Json, reason: str | None = None) -> Json:
        return {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": reason}]}

    events: list[tuple[str | None, Json | str]] = [
        (None, chunk({"role": "assistant", "content": text if text or not calls else None}))
    ]
    for i, c in enumerate(calls):
        fn = c.get("function") or {}
        call = {"index": i, "id": c.get("id"), "type": "function", "function": fn}
        events.append((None, chunk({"tool_calls": [call]})))
    events.append((None, chunk({}, finish or ("tool_calls" if calls else "stop"))))
    if usage:
        events.append((None, {**head, "choices": [], "usage": resp.get("usage")}))
    events.append((None, "[DONE]"))
    return sse(events)


def anthropic_stream(msg: Json) -> bytes:
    """An Anthropic message as its stream: message_start, each content block's start,
    delta and stop, message_delta (stop reason, output tokens), message_stop."""
    start = {**msg, "content": [], "stop_reason": None, "stop_sequence": None}
    start["usage"] = {**msg["usage"], "output_tokens": 0}
    events: list[tuple[str | None, Json | str]] = [
        ("message_start", {"type": "message_start", "message": start})
    ]
    for i, block in enumerate(msg["content"]):
        if block["type"] == "text":
            empty: Json = {"type": "text", "text": ""}
            delta: Json = {"type": "text_delta", "text": block["text"]}
        else:
            empty = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        events += [
            ("content_block_start", {"type": "content_block_start", "index": i, "content_block": empty}),
            ("content_block_delta", {"type": "content_block_delta", "index": i, "delta": delta}),
            ("content_block_stop", {"type": "content_block_stop", "index": i}),
        ]  # fmt: skip
    end = {"stop_reason": msg["stop_reason"], "stop_sequence": msg["stop_sequence"]}
    events += [
        ("message_delta", {"type": "message_delta", "delta": end, "usage": {"output_tokens": msg["usage"]["output_tokens"]}}),
        ("message_stop", {"type": "message_stop"}),
    ]  # fmt: skip
    return sse(events)


def responses_stream(resp: Json) -> bytes:
    """A Responses object as its stream: response.created, each output item added, its
    text or arguments in one delta, done, then response.completed with the whole object."""
    events: list[Json] = [
        {"type": "response.created", "response": {**resp, "status": "in_progress", "output": []}}
    ]
    for i, item in enumerate(resp["output"]):
        at = {"item_id": item["id"], "output_index": i}
        if item["type"] == "message":
            part = item["content"][0]
            events += [
                {"type": "response.output_item.added", "output_index": i, "item": {**item, "status": "in_progress", "content": []}},
                {"type": "response.content_part.added", **at, "content_index": 0, "part": {**part, "text": ""}},
                {"type": "response.output_text.delta", **at, "content_index": 0, "delta": part["text"], "logprobs": []},
                {"type": "response.output_text.done", **at, "content_index": 0, "text": part["text"], "logprobs": []},
                {"type": "response.content_part.done", **at, "content_index": 0, "part": part},
            ]  # fmt: skip
        else:
            events += [
                {"type": "response.output_item.added", "output_index": i, "item": {**item, "status": "in_progress", "arguments": ""}},
                {"type": "response.function_call_arguments.delta", **at, "delta": item["arguments"]},
                {"type": "response.function_call_arguments.done", **at, "arguments": item["arguments"]},
            ]  # fmt: skip
        events.append({"type": "response.output_item.done", "output_index": i, "item": item})
    events.append({"type": "response.completed", "response": resp})
    return sse([(e["type"], {**e, "sequence_number": n}) for n, e in enumerate(events)])


# -- routing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    """How one route's requests become chat-completions calls and its answers come back
    (whole, or as the dialect's stream of events given the request)."""

    to_chat: Callable[[Json], Json]
    from_chat: Callable[[Json, str], Json]
    error: Callable[[int, str, str], bytes]
    stream: Callable[[Json, Json], bytes]


def _openai_error(status: int, kind: str, message: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": kind, "code": kind}}).encode()


def _include_usage(req: Json) -> bool:
    return bool((req.get("stream_options") or {}).get("include_usage"))


OPENAI_CHAT = Dialect(
    lambda r: r, lambda r, _m: r, _openai_error, lambda r, q: chat_stream(r, _include_usage(q))
)
RESPONSES = Dialect(
    responses_to_chat, chat_to_responses, _openai_error, lambda r, _q: responses_stream(r)
)
ANTHROPIC = Dialect(
    anthropic_to_chat, chat_to_anthropic, anthropic_error, lambda r, _q: anthropic_stream(r)
)
ROUTES = {
    f"{PREFIX}/v1/chat/completions": OPENAI_CHAT,
    f"{PREFIX}/v1/responses": RESPONSES,
    f"{PREFIX}/v1/messages": ANTHROPIC,
}
BEDROCK = re.compile(rf"^{PREFIX}/model/([^/]+)/invoke$")


def route(path: str) -> tuple[Dialect, str | None] | None:
    """The dialect of a path under /sdk, and the model a Bedrock path names; None: no route."""
    path = path.split("?")[0].rstrip("/")
    if path in ROUTES:
        return ROUTES[path], None
    m = BEDROCK.match(path)
    return (ANTHROPIC, unquote(m.group(1))) if m else None


def handle(
    sdk_chat: Callable[[str | None, bytes], Reply],
    path: str,
    headers: Mapping[str, str],
    body: bytes,
) -> Reply:
    """Answer one POST under /sdk: translate, call `sdk_chat` (the gateway's, which maps
    the model name), translate back, as a stream when the request asked for one."""
    found = route(path)
    if found is None:
        return Reply(
            404,
            _openai_error(
                404,
                "not_found",
                f"no such endpoint {path}: dgm serves /sdk/v1/chat/completions, "
                "/sdk/v1/responses, /sdk/v1/messages and /sdk/model/ID/invoke "
                "(Bedrock's invoke-with-response-stream is not served: invoke without a stream)",
            ),
        )
    dialect, path_model = found
    try:
        req = json.loads(body)
        if not isinstance(req, dict):
            raise DialectError("the body must be a JSON object")
        if path_model is not None:  # Bedrock names the model in the path
            req = {**req, "model": path_model}
        whole = {k: v for k, v in req.items() if k not in ("stream", "stream_options")}
        chat = dialect.to_chat(whole)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        reason = f"missing field {e}" if isinstance(e, KeyError) else str(e)
        return Reply(
            400,
            dialect.error(400, "bad_request", f"bad request: {reason}"),
            {"x-should-retry": "false"},
        )
    reply = sdk_chat(token_of(headers), json.dumps(chat).encode())
    if dialect is OPENAI_CHAT and not (reply.status == 200 and req.get("stream")):
        return reply
    if reply.status != 200:
        try:
            err = json.loads(reply.body).get("error") or {}
        except ValueError:
            err = {}
        body = dialect.error(
            reply.status, err.get("type", "error"), err.get("message", "gateway error")
        )
        return Reply(reply.status, body, dict(reply.headers))
    answer = dialect.from_chat(json.loads(reply.body), str(req.get("model")))
    if req.get("stream"):
        return Reply(200, dialect.stream(answer, req), dict(SSE))
    return Reply(200, json.dumps(answer).encode())

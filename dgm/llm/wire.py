"""The OpenAI chat-completions shapes the gateway speaks: responses, error bodies, message
content, and the HTTP reply every part of the gateway answers with."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    """One HTTP answer of the gateway's servers (the gateway, a relay, an SDK dialect)."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def chat_response(
    model: str,
    content: str | None,
    tool_calls: list[dict[str, Any]] | None = None,
    tokens_in: int = 0,
    tokens_out: int = 0,
) -> dict[str, Any]:
    """A complete, non-streaming chat.completion object with one choice."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if tool_calls else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": tokens_in,
            "completion_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
        },
    }


def tool_call(name: str, arguments: dict[str, Any] | str, call_id: str | None = None) -> dict:
    """One entry of `message.tool_calls`; arguments are a JSON string on the wire."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {
        "id": call_id or f"call_{uuid.uuid4().hex[:24]}",
        "type": "function",
        "function": {"name": name, "arguments": args},
    }


def error_body(kind: str, message: str) -> bytes:
    """OpenAI's error envelope; `type` carries the gateway's error kind."""
    return json.dumps({"error": {"message": message, "type": kind, "code": kind}}).encode()


def usage_of(response: dict[str, Any]) -> tuple[int, int]:
    """(prompt tokens, completion tokens) of a chat.completion object; 0 when absent."""
    usage = response.get("usage") or {}
    return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)


def no_text(part: object) -> str:
    """A part with no text (an image): nothing; a bare number or word: itself."""
    return "" if isinstance(part, dict | list) else str(part)


def content_text(content: object, other: Callable[[object], str] = no_text) -> str:
    """The text of a message's content, in any of the wire formats: a string, or a list of
    parts whose text is their `text` (OpenAI's and Anthropic's text, Responses' input_text
    and output_text) or their nested `content` (a tool result); `other` gives the rest."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            content_text(p.get("text", p.get("content")), other)
            if isinstance(p, dict) and ("text" in p or "content" in p)
            else other(p)
            for p in content
        )
    return other(content)


def rough_tokens(text: str) -> int:
    """A tokenizer-free estimate (4 characters a token) for providers that report none."""
    return max(1, len(text) // 4)

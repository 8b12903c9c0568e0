"""A trajectory or an LLM request/response shown as the conversation it was (escaped HTML).

The stored JSON is read into plain shapes here (`Message`, `Part`); templates/conversation.html
draws them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from markupsafe import Markup

from dgm.llm.wire import content_text
from dgm.ui.html import json_text, render, text_of

ROLES = {"system", "user", "assistant", "tool", "developer", "function"}
MAX_MESSAGES = 400


@dataclass(frozen=True)
class Message:
    role: str  # as stored; "" for an entry that is no message (shown as JSON)
    css: str  # the role's class, "other" for a role the page does not know
    note: str  # the tool call a tool's reply answers
    body: str
    calls: list[tuple[str, str]]  # (tool name, arguments as indented JSON)


@dataclass(frozen=True)
class Part:
    """One block of a trajectory or an exchange: messages, or text shown as it is."""

    messages: list[Message] | None = None
    more: int = 0  # messages past MAX_MESSAGES
    text: str | None = None  # shown as a log when the JSON was not what was expected
    plain: str | None = None  # JSON that holds no messages
    info: str | None = None  # the rest of a trajectory's JSON, folded
    note: str | None = None  # in place of what is missing
    dim: str | None = None  # a remark on what follows


def _content(value: object) -> str:
    """Message content: a string, or a list of parts (their text; others as JSON)."""
    return content_text(value, json_text)


def _tool_calls(calls: object) -> list[tuple[str, str]]:
    if not isinstance(calls, list):
        return []
    out = []
    for c in calls:
        fn = c.get("function", {}) if isinstance(c, dict) else {}
        name = fn.get("name", "?") if isinstance(fn, dict) else "?"
        args = fn.get("arguments", "") if isinstance(fn, dict) else ""
        if isinstance(args, str):
            try:
                args = json_text(json.loads(args))
            except (ValueError, RecursionError):
                pass
        else:
            args = json_text(args)
        out.append((str(name), str(args)))
    return out


def message(m: object) -> Message:
    if not isinstance(m, dict):
        return Message("", "", "", json_text(m), [])
    role = str(m.get("role", "?"))
    note = str(m.get("tool_call_id") or "")
    css = role if role in ROLES else "other"
    return Message(role, css, note, _content(m.get("content")), _tool_calls(m.get("tool_calls")))


def messages(items: list[object]) -> Part:
    shown = [message(m) for m in items[:MAX_MESSAGES]]
    return Part(messages=shown, more=max(0, len(items) - MAX_MESSAGES))


def _parse(data: bytes) -> object:
    """JSON, or None when it is not (RecursionError: nested deeper than Python goes)."""
    try:
        return json.loads(data) if data else None
    except (ValueError, RecursionError):
        return None


def _one(doc: object) -> list[Part]:
    if isinstance(doc, list):
        return [messages(doc)]
    if not isinstance(doc, dict):
        return [Part(plain=json_text(doc))]
    parts = [messages(doc["messages"])] if isinstance(doc.get("messages"), list) else []
    rest = {k: v for k, v in doc.items() if k != "messages"}
    if rest:
        parts.append(Part(info=json_text(rest)))
    return parts


def trajectory_html(data: bytes) -> Markup:
    """The agent's trajectory.json ({"messages": [...], "info": {...}}, or {"tries": [...]})."""
    if not data:
        return render("conversation.html", tries=[[Part(note="No trajectory was recorded.")]])
    doc = _parse(data)
    if doc is None:
        return render(
            "conversation.html",
            tries=[[Part(dim="Not JSON; shown as text."), Part(text=text_of(data))]],
        )
    tries = doc.get("tries") if isinstance(doc, dict) else None
    if isinstance(tries, list):
        return render("conversation.html", tries=[_one(t) for t in tries], numbered=True)
    return render("conversation.html", tries=[_one(doc)])


def exchange_html(request: bytes, response: bytes | None) -> Markup:
    """An LLM call: the request's messages, then the reply's message(s), then both raw."""
    parts = []
    req = _parse(request)
    if isinstance(req, dict) and isinstance(req.get("messages"), list):
        parts.append(messages(req["messages"]))
    else:
        parts.append(Part(text=text_of(request)))
    if response is None:
        parts.append(Part(note="No response (the call failed)."))
    else:
        resp = _parse(response)
        choices = resp.get("choices") if isinstance(resp, dict) else None
        if isinstance(choices, list) and choices:
            parts.append(
                messages([c.get("message", c) if isinstance(c, dict) else c for c in choices])
            )
        else:
            parts.append(Part(text=text_of(response)))
    raw = None if response is None else (text_of(request, 50_000), text_of(response, 50_000))
    return render("conversation.html", tries=[parts], raw=raw)

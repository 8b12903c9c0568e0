"""A trajectory or an LLM request/response shown as the conversation it was (escaped HTML)."""

from __future__ import annotations

import json
from typing import Any

from dgm.ui.html import esc, json_text, text_of

ROLES = {"system", "user", "assistant", "tool", "developer", "function"}
MAX_MESSAGES = 400


def _content(value: Any) -> str:
    """Message content: a string, or a list of parts (text parts joined, others as JSON)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(
            str(p.get("text", ""))
            if isinstance(p, dict) and p.get("type") == "text"
            else json_text(p)
            for p in value
        )
    return json_text(value)


def _tool_calls(calls: Any) -> str:
    if not isinstance(calls, list):
        return ""
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
        out.append(
            f'<div class="call"><span class="tool">{esc(name)}</span><pre>{esc(args)}</pre></div>'
        )
    return "".join(out)


def messages_html(messages: list[Any]) -> str:
    out = []
    for m in messages[:MAX_MESSAGES]:
        if not isinstance(m, dict):
            out.append(f'<div class="msg"><pre>{esc(json_text(m))}</pre></div>')
            continue
        role = str(m.get("role", "?"))
        cls = role if role in ROLES else "other"
        extra = (
            f' <span class="dim">{esc(m.get("tool_call_id", ""))}</span>'
            if m.get("tool_call_id")
            else ""
        )
        body = _content(m.get("content"))
        out.append(
            f'<div class="msg role-{cls}"><div class="role">{esc(role)}{extra}</div>'
            + (f"<pre>{esc(body)}</pre>" if body else "")
            + _tool_calls(m.get("tool_calls"))
            + "</div>"
        )
    if len(messages) > MAX_MESSAGES:
        out.append(f'<p class="dim">{len(messages) - MAX_MESSAGES} more messages not shown.</p>')
    return '<div class="conversation">' + "".join(out) + "</div>"


def trajectory_html(data: bytes) -> str:
    """The agent's trajectory.json ({"messages": [...], "info": {...}}, or {"tries": [...]})."""
    if not data:
        return '<p class="empty-note">No trajectory was recorded.</p>'
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python goes
        return f'<p class="dim">Not JSON; shown as text.</p><pre class="log">{esc(text_of(data))}</pre>'
    tries = doc.get("tries") if isinstance(doc, dict) else None
    if isinstance(tries, list):
        return "".join(f"<h4>try {i + 1}</h4>{_one(t)}" for i, t in enumerate(tries))
    return _one(doc)


def _one(doc: Any) -> str:
    if isinstance(doc, list):
        return messages_html(doc)
    if not isinstance(doc, dict):
        return f"<pre>{esc(json_text(doc))}</pre>"
    out = messages_html(doc["messages"]) if isinstance(doc.get("messages"), list) else ""
    rest = {k: v for k, v in doc.items() if k != "messages"}
    if rest:
        out += f"<details><summary>info</summary><pre>{esc(json_text(rest))}</pre></details>"
    return out


def exchange_html(request: bytes, response: bytes | None) -> str:
    """An LLM call: the request's messages, then the reply's message(s)."""
    out = []
    try:
        req = json.loads(request) if request else {}
    except (ValueError, RecursionError):
        req = None
    if isinstance(req, dict) and isinstance(req.get("messages"), list):
        out.append(messages_html(req["messages"]))
    else:
        out.append(f'<pre class="log">{esc(text_of(request))}</pre>')
    if response is None:
        out.append('<p class="empty-note">No response (the call failed).</p>')
        return "".join(out)
    try:
        resp = json.loads(response)
    except (ValueError, RecursionError):
        resp = None
    choices = resp.get("choices") if isinstance(resp, dict) else None
    if isinstance(choices, list) and choices:
        out.append(
            messages_html([c.get("message", c) if isinstance(c, dict) else c for c in choices])
        )
    else:
        out.append(f'<pre class="log">{esc(text_of(response))}</pre>')
    raw_req = esc(text_of(request, 50_000))
    raw_resp = esc(text_of(response, 50_000))
    out.append(f"<details><summary>raw request</summary><pre>{raw_req}</pre></details>")
    out.append(f"<details><summary>raw response</summary><pre>{raw_resp}</pre></details>")
    return "".join(out)

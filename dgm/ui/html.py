"""Building HTML safely: every value from the archive goes through `esc` or `href`.

Pages are f-strings of trusted markup around escaped values. The archive holds text an
LLM wrote (agent code, trajectories, replies): it is never markup, never a URL, never
an attribute left unquoted.
"""

from __future__ import annotations

import html
import json
from urllib.parse import quote, urlencode

from dgm.display import short


def esc(value: object) -> str:
    """Text for element content or a double-quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def href(*parts: str, **query: object) -> str:
    """A same-origin path from segments (each percent-encoded), escaped for an attribute."""
    path = "/" + "/".join(quote(str(p), safe="") for p in parts)
    q = {k: v for k, v in query.items() if v is not None}
    return esc(path + ("?" + urlencode(q) if q else ""))


def text_of(data: bytes, limit: int = 200_000) -> str:
    """Stored bytes as text for a page, cut at `limit` characters with a note."""
    s = data.decode("utf-8", errors="replace")
    if len(s) > limit:
        return s[:limit] + f"\n[... {len(s) - limit} more characters not shown]"
    return s


def json_text(value: object) -> str:
    """Indented JSON for a page; a value nested deeper than Python's recursion allows (an
    archive may hold one) becomes a note instead of an error."""
    try:
        return json.dumps(value, indent=1)
    except RecursionError:
        return "[nested too deeply to show]"


def agent_link(agent_id: str | None) -> str:
    if not agent_id:
        return "-"
    return f'<a class="id" href="{href("agents", agent_id)}">{esc(short(agent_id))}</a>'


def run_link(run_id: str, label: str | None = None) -> str:
    return f'<a href="{href("runs", run_id)}">{esc(label or short(run_id))}</a>'


def page(title: str, body: str, crumbs: list[tuple[str, str]] | None = None, data: str = "") -> str:
    """A whole document. `crumbs` are (escaped href, text) pairs; `data` is trusted attributes."""
    nav = " / ".join(
        f'<a href="{h}">{esc(t)}</a>' for h, t in [(href("runs"), "runs"), *(crumbs or [])]
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} - dgm</title>"
        '<link rel=stylesheet href="/static/app.css"><script src="/static/app.js" defer></script>'
        f"</head><body {data}><header><span class=logo>dgm</span> <nav>{nav}</nav></header>"
        f"<main>{body}</main></body></html>"
    )

"""Rendering pages: Jinja2 templates (dgm/ui/templates) that escape every value by default.

The archive holds text an LLM wrote (agent code, trajectories, replies): it is never
markup, never a URL, never an attribute left unquoted. Templates escape whatever they are
given unless it is `Markup`: the fragments rendered here and the highlighter's lines
(escaped token by token) are the only Markup there is.
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from dgm.display import age, raw_score, score, short, usd, when


def href(*parts: str, **query: object) -> str:
    """A same-origin path from segments (each percent-encoded); templates escape it."""
    path = "/" + "/".join(quote(str(p), safe="") for p in parts)
    q = {k: v for k, v in query.items() if v is not None}
    return path + ("?" + urlencode(q) if q else "")


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


TEMPLATES = Environment(
    loader=PackageLoader("dgm.ui", "templates"),
    autoescape=True,  # every template, whatever its name ends in (chart.svg too)
    undefined=StrictUndefined,  # a misspelt name fails the page instead of showing nothing
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.globals.update(
    href=href, short=short, score=score, raw_score=raw_score, usd=usd, age=age, when=when
)


def render(template: str, **values: object) -> Markup:
    """A template rendered with `values`, as markup to embed in another template."""
    return Markup(TEMPLATES.get_template(template).render(**values))


def page(
    title: str, body: Markup, crumbs: list[tuple[str, str]] | None = None, live: str = ""
) -> str:
    """A whole document. `crumbs` are (path, text) pairs after "runs"; `live`: the path the
    browser polls to refresh the page's live sections (app.js), if any."""
    return render("page.html", title=title, body=body, crumbs=crumbs or [], live=live)


def message_page(title: str, heading: str, text: str) -> str:
    """A page that only says something (not found, a server error)."""
    return page(title, render("message.html", heading=heading, text=text))

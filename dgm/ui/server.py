"""The HTTP server: routes, security headers, the token off loopback, read-only archive.

Standard library only (`http.server`, through dgm/httpserver.py: a browser that hangs up
costs no traceback). Every response carries a strict Content-Security-Policy: scripts and
styles come only from /static (no inline script, no inline handler), so text from the
archive can never run even if escaping failed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import re
import secrets
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from archive import Archive, ArchiveError, ui_queries
from dgm.errors import UserError
from dgm.httpserver import ThreadingServer
from dgm.ui import compare, pages, treedata
from dgm.ui.html import TEMPLATES, message_page

log = logging.getLogger(__name__)

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
COOKIE = "dgm_ui_token"
STATIC = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
ID = re.compile(r"[0-9a-f]{1,16}")
SEQ = re.compile(r"[0-9]{1,9}")  # an evaluation number: ASCII digits that fit the database


def host_name(host_header: str) -> str:
    """The name in a Host header, without its port or an IPv6 address's brackets."""
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def cookie_value(header: str, name: str) -> str | None:
    """One cookie from a Cookie header, read leniently: a browser sends every cookie of the
    host, and one malformed by another app must not hide ours (SimpleCookie stops there)."""
    for part in header.split(";"):
        key, eq, value = part.strip().partition("=")
        if eq and key == name:
            return value.strip().strip('"')
    return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Response:
    def __init__(
        self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        self.status, self.body, self.ctype, self.headers = status, body, ctype, headers or {}


def html(body: str, status: int = 200) -> Response:
    return Response(status, body.encode(), "text/html; charset=utf-8")


def as_json(doc: Any) -> Response:
    return Response(200, json.dumps(doc, allow_nan=False).encode(), "application/json")


def version_of(fingerprint: tuple[Any, ...]) -> str:
    return hashlib.sha256(repr(fingerprint).encode()).hexdigest()[:16]


class App:
    """Routing and page assembly, independent of the socket (the benchmark calls it too)."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.trees = treedata.TreeCache()

    def handle(self, path: str, query: dict[str, str]) -> Response:
        parts = [unquote(p) for p in path.split("/") if p]
        routes: list[tuple[tuple[str, ...], Callable[..., Response]]] = [
            ((), lambda: Response(303, b"", "text/plain", {"Location": "/runs"})),
            (("runs",), lambda: html(pages.runs_page(self.archive))),
            (("compare",), lambda: html(compare.compare_page(self.archive, query.get("runs")))),
            (("compare", "chart.png"), lambda: self.compare_chart(query.get("runs"))),
            (("live",), lambda: self.runs_live(query.get("v"))),
            (("runs", "*"), lambda r: self.run(r)),
            (("runs", "*", "live"), lambda r: self.run_live(r, query.get("v"))),
            (("api", "runs", "*", "tree"), lambda r: self.tree(r, query.get("node"))),
            (("agents", "*"), lambda a: html(pages.agent_page(self.archive, self.agent_id(a)))),
            (
                ("agents", "*", "diff"),
                lambda a: html(
                    pages.diff_page(self.archive, self.agent_id(a), query.get("against") or None)
                ),
            ),
            (("agents", "*", "evals", "*"), lambda a, s: self.evaluation(a, s)),
            (("calls", "*"), lambda c: html(pages.call_page(self.archive, c))),
            (("static", "*"), lambda name: self.static(name)),
        ]
        for pattern, fn in routes:
            if len(pattern) == len(parts) and all(
                p == "*" or p == q for p, q in zip(pattern, parts, strict=True)
            ):
                args = [q for p, q in zip(pattern, parts, strict=True) if p == "*"]
                try:
                    return fn(*args)
                except ArchiveError as e:
                    return html(message_page("not found", "Not found", str(e)), 404)
        return html(message_page("not found", "Not found", "There is no such page."), 404)

    def warm(self) -> None:
        for name in TEMPLATES.list_templates():  # compiled once, before the first page
            TEMPLATES.get_template(name)
        try:
            runs = self.archive.runs()
            running = [r for r in runs if r.status == "running"]
            for r in (running + [r for r in runs if r.status != "running"])[:WARM_RUNS]:
                self.trees.get(self.archive, r.id)
        except Exception:  # warming is an optimisation: pages read what they need anyway
            log.exception("warming the newest runs")

    def agent_id(self, given: str) -> str:
        if not ID.fullmatch(given):
            raise ArchiveError(f"{given!r} is not an agent id")
        return given if len(given) == 16 else self.archive.resolve_agent(given)

    def run_id(self, given: str) -> str:
        return (
            given if ID.fullmatch(given) and len(given) == 16 else self.archive.resolve_run(given)
        )

    def run(self, given: str) -> Response:
        run_id = self.run_id(given)
        body = pages.run_page(self.archive, run_id)
        # After the page has read the run's stats (cached by the archive), so the tree's
        # build reuses them while the browser is busy with the page.
        self.trees.warm(self.archive, run_id)
        return html(body)

    def run_live(self, given: str, seen: str | None) -> Response:
        run_id = self.run_id(given)
        tree, tree_fp = self.trees.get(self.archive, run_id)
        # The version covers the tree served too: when a background rebuild lands, the
        # page sees a new version and fetches the tree again.
        v = version_of((ui_queries.run_fingerprint(self.archive, run_id), tree_fp))
        if v == seen:
            return as_json({"v": v})
        return as_json({"v": v, "sections": pages.run_sections(self.archive, run_id, tree.stats)})

    def runs_live(self, seen: str | None) -> Response:
        v = version_of(ui_queries.archive_fingerprint(self.archive))
        if v == seen:
            return as_json({"v": v})
        return as_json({"v": v, "sections": {"runs": pages.runs_table(self.archive.runs())}})

    def tree(self, given: str, node: str | None) -> Response:
        run_id = self.run_id(given)
        tree, _ = self.trees.get(self.archive, run_id)
        if node is None:
            return as_json({"run": run_id, **tree.first_view})
        doc = treedata.children(tree, node)
        p2 = ui_queries.second_parents(self.archive, [n["id"] for n in doc["nodes"]])
        for n in doc["nodes"]:
            n["p2"] = p2.get(n["id"])
        return as_json(doc)

    def evaluation(self, agent: str, seq: str) -> Response:
        if not SEQ.fullmatch(seq):
            raise ArchiveError(f"{seq!r} is not an evaluation number")
        return html(pages.evaluation_page(self.archive, self.agent_id(agent), int(seq)))

    def compare_chart(self, runs: str | None) -> Response:
        try:
            return Response(200, compare.chart_png(self.archive, runs), "image/png")
        except UserError as e:
            return Response(400, f"{e}\n".encode(), "text/plain; charset=utf-8")

    def static(self, name: str) -> Response:
        if name not in STATIC:
            raise ArchiveError(f"no static file {name!r}")
        data = resources.files("dgm.ui").joinpath("static", name).read_bytes()
        return Response(200, data, STATIC[name], {"Cache-Control": "no-cache"})


class Handler(BaseHTTPRequestHandler):
    server: UIServer
    server_version = "dgm-ui"
    sys_version = ""
    # A connection that sends nothing is closed: idle sockets must not pile up threads.
    timeout = 30

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        url = urlsplit(self.path)
        # A repeated parameter (the compare form's `runs` checkboxes) arrives comma-joined.
        query = {k: ",".join(v) for k, v in parse_qs(url.query).items()}
        denied = self.server.check_access(
            self.headers.get("Host", ""), self.headers.get("Cookie", ""), query
        )
        if denied is not None:
            self.send(denied)
            return
        if self.server.token and query.get("token"):
            rest = urlencode({k: v for k, v in query.items() if k != "token"})
            # Same page, never another site: "//host" or "/\\host" would leave this server.
            here = "/" + url.path.lstrip("/\\")
            cookie = f"{self.server.cookie}={self.server.token}; HttpOnly; SameSite=Strict; Path=/"
            self.send(
                Response(
                    303,
                    b"",
                    "text/plain",
                    {"Location": here + ("?" + rest if rest else ""), "Set-Cookie": cookie},
                )
            )
            return
        try:
            response = self.server.app.handle(url.path, query)
        except Exception:
            log.exception("error serving %s", url.path)
            response = html(
                message_page("error", "Server error", "See the terminal running dgm ui."), 500
            )
        self.send(response)

    def send(self, r: Response) -> None:
        self.send_response(r.status)
        self.send_header("Content-Type", r.ctype)
        self.send_header("Content-Length", str(len(r.body)))
        if "Cache-Control" not in r.headers:
            self.send_header("Cache-Control", "no-store")
        for k, v in r.headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(r.body)

    def end_headers(self) -> None:
        """Every response, the standard library's own error pages (400, 501) included."""
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        # The request line may carry the token: it is never logged.
        text = format % args
        if self.server.token:
            text = text.replace(self.server.token, "<token>")
        log.debug("%s %s", self.address_string(), text)


class UIServer(ThreadingServer):
    def __init__(self, archive: Archive, host: str, port: int, token: str | None) -> None:
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), Handler)
        self.app = App(archive)
        self.token = token
        self.loopback = is_loopback(host)
        # One cookie per port: two servers on one host must not overwrite each other's.
        self.cookie = f"{COOKIE}_{self.server_address[1]}"

    def check_access(
        self, host_header: str, cookie_header: str, query: dict[str, str]
    ) -> Response | None:
        """None when the request may proceed; else the refusal."""
        if self.token is None:
            # Bound to loopback only: refuse other Host names, so that a web page cannot
            # reach this server through a rebinding DNS name (127.x.evil.example included).
            if not is_loopback(host_name(host_header).lower()):
                return Response(403, b"forbidden host\n", "text/plain; charset=utf-8")
            return None
        given = query.get("token") or cookie_value(cookie_header, self.cookie)
        if given is not None and hmac.compare_digest(given.encode(), self.token.encode()):
            return None
        return Response(
            401,
            b"a token is required: open the URL that `dgm ui` printed when it started\n",
            "text/plain; charset=utf-8",
        )

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), self.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/" + (f"?token={self.token}" if self.token else "")


WARM_RUNS = 3  # the newest runs whose stats and tree are read at start


def make_server(
    archive: Archive, host: str = "127.0.0.1", port: int = 8000, warm: bool = True
) -> UIServer:
    """A server over `archive`, which must be opened with `read_only=True` (the UI never
    writes); a token is required unless on loopback. With `warm`, the newest runs are read
    in the background at once, so the first page a person opens does not pay for reading
    100k agents."""
    if not archive.read_only:
        raise ValueError("the UI serves only an archive opened with read_only=True")
    token = None if is_loopback(host) else secrets.token_urlsafe(24)
    server = UIServer(archive, host, port, token)
    if warm:
        threading.Thread(target=server.app.warm, daemon=True).start()
    return server

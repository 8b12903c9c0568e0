"""Server-side syntax highlighting (Pygments) and a side-by-side diff, both emitting escaped HTML.

A file is highlighted whole, by the lexer its name calls for (Python, JavaScript, YAML,
JSON, shell, Markdown, ... whatever an agent or a problem holds; plain text when Pygments
knows no lexer), then cut into lines, so a string or comment spanning lines is coloured on
each of them. Tokens map onto the page's few classes (k, s, c, n, f: app.css).
"""

from __future__ import annotations

import difflib
import html
from collections.abc import Mapping
from dataclasses import dataclass

from markupsafe import Markup
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_for_filename
from pygments.lexers.special import TextLexer
from pygments.token import Comment, Keyword, Name, Number, String, _TokenType
from pygments.util import ClassNotFound

from dgm.ui.html import render

CONTEXT = 3  # unchanged lines shown around a change
MAX_FILE_ROWS = 4000  # rows per file before the rest is summarised
EXACT_DIFF_LINES = 4000  # both sides together; bigger files are diffed with autojunk
MAX_HIGHLIGHT_CHARS = 1 << 20  # a bigger file is shown plain: lexing it would hold the page up
# Pygments token types -> the page's classes, most specific first.
CLASSES: tuple[tuple[_TokenType, str], ...] = (
    (Comment, "c"),
    (String, "s"),
    (Number, "n"),
    (Name.Function, "f"),
    (Name.Class, "f"),
    (Name.Builtin.Pseudo, "k"),  # self, cls
    (Keyword, "k"),
)


def css_class(token: _TokenType) -> str | None:
    return next((cls for kind, cls in CLASSES if token in kind), None)


def lexer_for(path: str) -> Lexer:
    options = {"stripnl": False, "ensurenl": False, "tabsize": 0}
    try:
        return get_lexer_for_filename(path, **options)
    except ClassNotFound:
        return TextLexer(**options)


def split_lines(text: str) -> list[str]:
    """Lines as the diff and the lexer both count them (newlines: \\n, \\r\\n, \\r)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def highlight(path: str, lines: list[str]) -> list[Markup]:
    """The file's `lines` as escaped HTML lines with <span class=k|s|c|n|f> tokens: a
    formatter's job (token by token), so built here rather than in a template."""
    text = "\n".join(lines)
    if len(text) > MAX_HIGHLIGHT_CHARS:
        return [Markup(esc(line)) for line in lines]
    runs: list[list[tuple[str | None, str]]] = [[]]  # per line: (class, text), merged
    for token, value in lexer_for(path).get_tokens(text + "\n"):
        cls = css_class(token)
        for k, part in enumerate(value.split("\n")):
            if k:
                runs.append([])
            line = runs[-1]
            if part and line and line[-1][0] == cls:
                line[-1] = (cls, line[-1][1] + part)
            elif part:
                line.append((cls, part))
    if len(runs) != len(lines) + 1:  # the lexer changed the lines: show them plain
        return [Markup(esc(line)) for line in lines]
    return [
        Markup("".join(f'<span class="{c}">{esc(t)}</span>' if c else esc(t) for c, t in line))
        for line in runs[: len(lines)]
    ]


@dataclass(frozen=True, slots=True)
class Row:
    kind: str  # "same", "del", "add", "chg", "skip"
    left_no: int | None
    left: str | None
    right_no: int | None
    right: str | None


def _lines(data: bytes | None) -> list[str] | None:
    if data is None:
        return []
    if b"\0" in data[:8192]:
        return None
    return split_lines(data.decode("utf-8", errors="replace"))


def file_rows(old: bytes | None, new: bytes | None) -> list[Row] | None:
    """Side-by-side rows with CONTEXT lines around each change; None for binary files."""
    a, b = _lines(old), _lines(new)
    if a is None or b is None:
        return None
    rows: list[Row] = []
    # Exact matching is quadratic in repeated lines: a 20k-line file of one repeated line
    # took minutes of CPU. Past a few thousand lines, popular lines are junk to the matcher.
    big = len(a) + len(b) > EXACT_DIFF_LINES
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=big)
    for group in matcher.get_grouped_opcodes(CONTEXT):
        if rows or group[0][1] > 0:
            rows.append(Row("skip", None, None, None, None))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [
                    Row("same", i + 1, a[i], j + 1, b[j])
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                ]
                continue
            n = max(i2 - i1, j2 - j1)
            for k in range(n):
                i, j = i1 + k, j1 + k
                left = (i + 1, a[i]) if i < i2 else (None, None)
                right = (j + 1, b[j]) if j < j2 else (None, None)
                kind = (
                    "chg"
                    if left[1] is not None and right[1] is not None
                    else ("del" if right[1] is None else "add")
                )
                rows.append(Row(kind, left[0], left[1], right[0], right[1]))
    return rows


@dataclass(frozen=True, slots=True)
class FileDiff:
    path: str
    state: str  # "added", "deleted", "modified"
    rows: list[Row] | None  # None: a binary file
    left: list[Markup]  # each side's lines, highlighted
    right: list[Markup]
    more: int  # rows past MAX_FILE_ROWS, not shown


def side_by_side(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> Markup:
    """Every changed path as a two-column table (old left, new right), escaped HTML."""
    paths = sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p))
    files = []
    for path in paths:
        state = "added" if path not in old else ("deleted" if path not in new else "modified")
        rows = file_rows(old.get(path), new.get(path))
        left = highlight(path, _lines(old.get(path)) or []) if rows is not None else []
        right = highlight(path, _lines(new.get(path)) or []) if rows is not None else []
        more = max(0, len(rows) - MAX_FILE_ROWS) if rows is not None else 0
        files.append(FileDiff(path, state, rows and rows[:MAX_FILE_ROWS], left, right, more))
    return render("diff_files.html", files=files)


def unified(patch: str) -> Markup:
    """A unified diff (a patch) as escaped HTML, lines coloured by their first character."""
    lines = []
    for line in patch.splitlines():
        cls = ""
        if line.startswith(("+++", "---", "diff ", "@@")):
            cls = "hunk"
        elif line.startswith("+"):
            cls = "add"
        elif line.startswith("-"):
            cls = "del"
        lines.append((cls, line))
    return render("patch.html", lines=lines)

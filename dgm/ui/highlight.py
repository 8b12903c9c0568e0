"""A small server-side syntax highlighter and a side-by-side diff, both emitting escaped HTML.

The highlighter works line by line with a regular expression (keywords, strings,
comments, numbers, definitions): a string spanning lines is coloured only on its first
line. That is enough to read a diff; it is not a parser.
"""

from __future__ import annotations

import difflib
import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass

from dgm.ui.html import esc

TOKEN = re.compile(
    r"(?P<com>#.*)"
    r"|(?P<str>[rbfuRBFU]{0,2}(?:'''|\"\"\"|'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"))"
    r"|(?P<num>\b\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?\b)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
)
KEYWORDS = set(keyword.kwlist) | {"self", "match", "case"}
CONTEXT = 3  # unchanged lines shown around a change
MAX_FILE_ROWS = 4000  # rows per file before the rest is summarised
EXACT_DIFF_LINES = 4000  # both sides together; bigger files are diffed with autojunk


def highlight_line(line: str, code: bool = True) -> str:
    """One line of source as escaped HTML with <span class=k|s|c|n|f> tokens."""
    if not code:
        return esc(line)
    out: list[str] = []
    pos, after_def = 0, False
    for m in TOKEN.finditer(line):
        out.append(esc(line[pos : m.start()]))
        kind, text = m.lastgroup, m.group()
        cls = {"com": "c", "str": "s", "num": "n"}.get(kind or "")
        if kind == "word":
            cls = "k" if text in KEYWORDS else ("f" if after_def else None)
            after_def = text in ("def", "class")
        out.append(f'<span class="{cls}">{esc(text)}</span>' if cls else esc(text))
        pos = m.end()
    out.append(esc(line[pos:]))
    return "".join(out)


def is_code(path: str) -> bool:
    return path.endswith((".py", ".pyi"))


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
    return data.decode("utf-8", errors="replace").splitlines()


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


def _cell(no: int | None, text: str | None, code: bool, side: str, kind: str) -> str:
    cls = {"del": "del", "add": "add", "chg": "del" if side == "l" else "add"}.get(kind, "")
    if text is None:
        return '<td class="no"></td><td class="empty"></td>'
    return (
        f'<td class="no">{no}</td><td class="{cls}"><code>{highlight_line(text, code)}</code></td>'
    )


def side_by_side(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> str:
    """Every changed path as a two-column table (old left, new right), escaped HTML."""
    paths = sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p))
    if not paths:
        return '<p class="empty-note">No differences.</p>'
    out = [f"<p>{len(paths)} file(s) changed.</p>"]
    for path in paths:
        state = "added" if path not in old else ("deleted" if path not in new else "modified")
        out.append(
            f'<section class="file"><h3><code>{esc(path)}</code> <span class="tag">{state}</span></h3>'
        )
        rows = file_rows(old.get(path), new.get(path))
        if rows is None:
            out.append("<p>Binary file differs.</p></section>")
            continue
        code = is_code(path)
        out.append(
            '<table class="diff"><colgroup><col class=nc><col><col class=nc><col></colgroup>'
        )
        for row in rows[:MAX_FILE_ROWS]:
            if row.kind == "skip":
                out.append('<tr class="skip"><td colspan=4>⋯</td></tr>')
                continue
            out.append(
                f'<tr class="{row.kind}">{_cell(row.left_no, row.left, code, "l", row.kind)}'
                f"{_cell(row.right_no, row.right, code, 'r', row.kind)}</tr>"
            )
        if len(rows) > MAX_FILE_ROWS:
            out.append(
                f'<tr class="skip"><td colspan=4>{len(rows) - MAX_FILE_ROWS} more rows not shown</td></tr>'
            )
        out.append("</table></section>")
    return "".join(out)


def unified(patch: str) -> str:
    """A unified diff (a patch) as escaped HTML, lines coloured by their first character."""
    out = []
    for line in patch.splitlines():
        cls = ""
        if line.startswith(("+++", "---", "diff ", "@@")):
            cls = "hunk"
        elif line.startswith("+"):
            cls = "add"
        elif line.startswith("-"):
            cls = "del"
        out.append(f'<span class="{cls}">{esc(line)}</span>' if cls else esc(line))
    return '<pre class="patch">' + "\n".join(out) + "</pre>"

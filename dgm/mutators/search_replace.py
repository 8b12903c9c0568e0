"""SEARCH/REPLACE blocks: parsing and strict application.

Format (the path alone on the line before the block):

    agent/tools.py
    <<<<<<< SEARCH
    exact existing lines
    =======
    new lines
    >>>>>>> REPLACE

Application is strict and all-or-nothing: each SEARCH text must occur exactly once in the
file as it stands after the blocks before it; an empty SEARCH creates a new file. Any block
that does not apply makes the whole edit fail with one exact reason per bad block.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass

BLOCK = re.compile(
    r"^(?P<path>[^\n]*)\n<<<<<<< SEARCH\n(?P<search>.*?)^=======\n(?P<replace>.*?)^>>>>>>> REPLACE\s*$",
    re.DOTALL | re.MULTILINE,
)

FORMAT_HELP = (
    "Write each edit as:\n"
    "path/to/file.py\n<<<<<<< SEARCH\n(exact existing lines)\n=======\n(new lines)\n>>>>>>> REPLACE\n"
    "The SEARCH text must match the file exactly, once. An empty SEARCH creates a new file."
)


@dataclass(frozen=True)
class Block:
    path: str
    search: str
    replace: str


def parse_blocks(text: str) -> list[Block]:
    blocks = []
    for m in BLOCK.finditer(text):
        path = m.group("path").strip().strip("`*# ").strip()
        blocks.append(Block(path, m.group("search"), m.group("replace")))
    return blocks


def safe_path(path: str) -> str | None:
    """Why `path` may not be written, or None when it is a plain relative path."""
    if not path:
        return "the block has no file path on the line before <<<<<<< SEARCH"
    norm = posixpath.normpath(path)
    if path.startswith("/") or norm.startswith("..") or norm != path:
        return f"path {path!r} must be a plain relative path inside the agent"
    return None


def closest_line(content: str, search: str) -> str:
    first = next((ln for ln in search.splitlines() if ln.strip()), "")
    lines = content.splitlines()
    best = difflib.get_close_matches(first, lines, n=1, cutoff=0.5)
    if not best:
        return ""
    n = lines.index(best[0]) + 1
    return f"; the closest line is line {n}: {best[0].strip()!r}"


def apply_blocks(
    files: Mapping[str, bytes], blocks: list[Block]
) -> tuple[dict[str, bytes] | None, list[str]]:
    """(new files, []) when every block applies, else (None, one reason per failed block)."""
    if not blocks:
        return None, ["no SEARCH/REPLACE blocks found. " + FORMAT_HELP]
    out = dict(files)
    errors = []
    for i, b in enumerate(blocks, 1):
        label = f"block {i} ({b.path or 'no path'})"
        bad = safe_path(b.path)
        if bad:
            errors.append(f"{label}: {bad}")
            continue
        if b.search == "":
            if b.path in out:
                errors.append(
                    f"{label}: empty SEARCH creates a file, but {b.path} exists; quote the lines to change"
                )
            else:
                out[b.path] = b.replace.encode()
            continue
        if b.path not in out:
            errors.append(
                f"{label}: file {b.path} does not exist (files: {', '.join(sorted(out)[:20])})"
            )
            continue
        content = out[b.path].decode(errors="replace")
        count = content.count(b.search)
        if count == 0:
            errors.append(
                f"{label}: SEARCH text not found in {b.path}{closest_line(content, b.search)}"
            )
        elif count > 1:
            errors.append(
                f"{label}: SEARCH text occurs {count} times in {b.path}; include more lines to make it unique"
            )
        else:
            out[b.path] = content.replace(b.search, b.replace, 1).encode()
    return (None, errors) if errors else (out, [])

"""Text diffs between two file trees (pure functions)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping


def _lines(data: bytes) -> list[str] | None:
    """Lines of a text file, or None for binary content."""
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None


def file_diff(path: str, old: bytes | None, new: bytes | None) -> list[str]:
    """Unified diff lines for one path (old None = added, new None = deleted)."""
    a, b = _lines(old or b""), _lines(new or b"")
    if a is None or b is None:
        return [f"Binary files a/{path} and b/{path} differ\n"]
    out = list(
        difflib.unified_diff(
            a,
            b,
            fromfile=f"a/{path}" if old is not None else "/dev/null",
            tofile=f"b/{path}" if new is not None else "/dev/null",
        )
    )
    return [line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in out]


def changed_paths(old: Mapping[str, object], new: Mapping[str, object]) -> list[str]:
    """Paths whose content differs (by digest or bytes), added or removed; sorted."""
    return sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p))


def tree_diff(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> str:
    """A git-style unified diff of two {path: content} trees."""
    out: list[str] = []
    for path in changed_paths(old, new):
        out.append(f"diff --git a/{path} b/{path}\n")
        out += file_diff(path, old.get(path), new.get(path))
    return "".join(out)


def stat(old: bytes | None, new: bytes | None) -> tuple[int, int]:
    """(lines added, lines removed) between two versions of a file; 0, 0 for binary."""
    a, b = _lines(old or b""), _lines(new or b"")
    if a is None or b is None:
        return 0, 0
    # Trim the common head and tail first: a one-line edit leaves a one-line problem.
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    a, b = a[start : len(a) - end], b[start : len(b) - end]
    added = removed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            removed += i2 - i1
            added += j2 - j1
    return added, removed

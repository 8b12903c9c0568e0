"""The agent's two tools: a bash command runner and a file editor. Each returns the text
the model sees; errors are returned as text too, phrased so the model can act on them."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

MAX_OUTPUT = 10_000

TOOL_SPECS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "bash",
            "description": "Run a bash command in the repository root. Each call is a fresh shell "
            "(cd and variables do not persist). Long output is cut in the middle.",
            "parameters": {
                "type": "object",
                "properties": {"command": {"type": "string", "description": "The command to run."}},
                "required": ["command"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "editor",
            "description": "View, create or edit a file. view: a file with line numbers (or a "
            "directory listing). create: write file_text to path. str_replace: replace old_str, "
            "which must occur exactly once in the file, with new_str.",
            "parameters": {
                "type": "object",
                "properties": {
                    "command": {"type": "string", "enum": ["view", "create", "str_replace"]},
                    "path": {
                        "type": "string",
                        "description": "File path, relative to the repository root or absolute.",
                    },
                    "file_text": {
                        "type": "string",
                        "description": "create: the whole file content.",
                    },
                    "old_str": {
                        "type": "string",
                        "description": "str_replace: the exact text to replace.",
                    },
                    "new_str": {
                        "type": "string",
                        "description": "str_replace: the replacement text.",
                    },
                    "view_range": {
                        "type": "array",
                        "items": {"type": "integer"},
                        "description": "view: [first, last] line, 1-based; -1 for the end.",
                    },
                },
                "required": ["command", "path"],
            },
        },
    },
]


def truncate(text: str, limit: int = MAX_OUTPUT) -> str:
    """Keep the head and the tail: errors tend to be at the end, context at the start."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - limit} characters cut ...]\n{text[-half:]}"


def bash(command: str, cwd: Path, timeout_s: float) -> str:
    """Run `command`; return exit code and merged output. The whole process group is
    killed at the timeout, so a background child cannot outlive it."""
    proc = subprocess.Popen(
        ["bash", "-c", command],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        text = out.decode(errors="replace")
        return truncate(
            f"{text}\n[timed out after {timeout_s:.0f}s and was killed; run something quicker]"
        )
    text = out.decode(errors="replace")
    return truncate(f"[exit code {proc.returncode}]\n{text}")


def _resolve(path: str, root: Path) -> Path:
    p = Path(path)
    return p if p.is_absolute() else root / p


def view(path: Path, view_range: list[int] | None = None) -> str:
    if path.is_dir():
        entries = sorted(
            str(p.relative_to(path)) + ("/" if p.is_dir() else "")
            for p in path.rglob("*")
            if len(p.relative_to(path).parts) <= 2
            and not any(
                part.startswith(".") or part == "__pycache__" for part in p.relative_to(path).parts
            )
        )
        return truncate("\n".join(entries) or "(empty directory)")
    if not path.is_file():
        return f"error: {path} does not exist; list the directory with editor view on it, or use bash `ls`"
    lines = path.read_text(errors="replace").splitlines()
    first, last = 1, len(lines)
    if view_range:
        first = max(1, int(view_range[0]))
        if len(view_range) > 1 and int(view_range[1]) != -1:
            last = min(len(lines), int(view_range[1]))
    numbered = "\n".join(f"{i:6}\t{lines[i - 1]}" for i in range(first, last + 1))
    return truncate(numbered or "(empty file)")


def create(path: Path, file_text: str) -> str:
    existed = path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(file_text)
    return f"{'overwrote' if existed else 'created'} {path}"


def str_replace(path: Path, old: str, new: str) -> str:
    if not path.is_file():
        return f"error: {path} does not exist; check the path with bash `ls`"
    text = path.read_text()
    if not old:
        return "error: old_str is empty; give the exact text to replace"
    count = text.count(old)
    if count == 0:
        return (
            f"error: old_str was not found in {path}. It must match exactly, including "
            "whitespace and indentation: view the file and copy the lines you want to change."
        )
    if count > 1:
        lines = [text[:i].count("\n") + 1 for i in _find_all(text, old)]
        return (
            f"error: old_str occurs {count} times in {path} (lines {', '.join(map(str, lines))}); "
            "include more surrounding lines so it matches exactly once."
        )
    path.write_text(text.replace(old, new, 1))
    start = text[: text.index(old)].count("\n") + 1
    snippet = view(path, [max(1, start - 3), start + new.count("\n") + 3])
    return f"edited {path}; lines around the change:\n{snippet}"


def _find_all(text: str, sub: str) -> list[int]:
    found, i = [], text.find(sub)
    while i != -1:
        found.append(i)
        i = text.find(sub, i + 1)
    return found


def editor(args: dict[str, Any], root: Path) -> str:
    command, path = args.get("command"), args.get("path")
    if not path:
        return "error: editor needs a path"
    p = _resolve(str(path), root)
    try:
        if command == "view":
            return view(p, args.get("view_range"))
        if command == "create":
            return create(p, str(args.get("file_text", "")))
        if command == "str_replace":
            return str_replace(p, str(args.get("old_str", "")), str(args.get("new_str", "")))
    except (OSError, ValueError, TypeError) as e:
        return f"error: {type(e).__name__}: {e}"
    return f"error: unknown editor command {command!r}; use view, create or str_replace"


def replace_line(root: Path, files: list[str], line: str, new_line: str) -> str:
    """Replace the one line of `files` that reads `line` (spaces around it aside) with
    `new_line`, at the same indentation. A Python file must still parse, else nothing changes."""
    import ast

    target = line.strip()
    homes = []
    for rel in files:
        try:
            text = (root / rel).read_text()
        except OSError:
            continue
        lines = text.splitlines(keepends=True)
        homes += [(rel, text, lines, i) for i, ln in enumerate(lines) if ln.strip() == target]
    if len(homes) != 1:
        return f"error: the line {target!r} occurs {len(homes)} times in the files shown; nothing changed"
    rel, text, lines, i = homes[0]
    old = lines[i]
    indent = old[: len(old) - len(old.lstrip())]
    ending = old[len(old.rstrip("\r\n")) :]
    replacement = new_line.strip("\r\n")
    lines[i] = (indent + replacement.lstrip() if replacement.strip() else "") + ending
    updated = "".join(lines)
    if updated == text:
        return "error: the new line is the same as the old one; nothing changed"
    if rel.endswith(".py"):
        try:
            ast.parse(updated)
        except SyntaxError as e:
            return f"error: {rel} would not parse with that line ({e.msg}); nothing changed"
    (root / rel).write_text(updated)
    return f"{rel} line {i + 1} is now: {lines[i].rstrip()}"


def replace_definitions(code: str, root: Path, files: list[str]) -> str:
    """Put each top-level function or class in `code` in place of the one definition of
    that name in the repository's Python files. For models that answer with corrected
    code instead of an edit; the changed file must still parse."""
    import ast

    try:
        new_tree = ast.parse(code)
    except SyntaxError as e:
        return f"error: the python block does not parse ({e.msg}, line {e.lineno}); nothing changed"
    new_lines = code.splitlines(keepends=True)
    done = []
    for node in new_tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        homes = []
        for rel in files:
            try:
                text = (root / rel).read_text()
                old = next(
                    (
                        n
                        for n in ast.parse(text).body
                        if getattr(n, "name", None) == node.name
                        and isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                    ),
                    None,
                )
            except (OSError, SyntaxError, ValueError):
                continue
            if old is not None:
                homes.append((rel, text, old))
        if len(homes) != 1:
            done.append(
                f"{node.name}: {'defined in ' + str(len(homes)) + ' files' if homes else 'not defined anywhere'}, skipped"
            )
            continue
        rel, text, old = homes[0]
        lines = text.splitlines(keepends=True)
        start = min([old.lineno] + [d.lineno for d in old.decorator_list]) - 1
        first = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
        replacement = "".join(new_lines[first : node.end_lineno])
        updated = (
            "".join(lines[:start])
            + replacement.rstrip("\n")
            + "\n"
            + "".join(lines[old.end_lineno :])
        )
        try:
            ast.parse(updated)
        except SyntaxError as e:
            done.append(f"{node.name}: the result would not parse ({e.msg}), skipped")
            continue
        (root / rel).write_text(updated)
        done.append(f"{node.name}: replaced in {rel}")
    return (
        "\n".join(done) or "error: the python block defines no function or class; nothing changed"
    )

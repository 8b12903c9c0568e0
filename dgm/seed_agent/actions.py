"""The text action format, for models that cannot make tool calls (e.g. the local model).

A reply may hold any number of actions, run in the order written:

    ```bash
    pytest -q tests/test_cart.py
    ```

    shop/cart.py
    <<<<<<< SEARCH
    return total
    =======
    return round(total, 2)
    >>>>>>> REPLACE

An empty SEARCH part creates the file. A reply with no action that says DONE on a line of
its own ends the run. Failing all that, a ```python block of whole functions or classes
replaces their namesakes in the repository (what small models tend to write).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_BASH = re.compile(r"```(?:bash|sh|shell|console)[ \t]*\n(.*?)```", re.S)
_EDIT = re.compile(
    r"<<<<<<< ?SEARCH[ \t]*\n(.*?)^=======[ \t]*\n(.*?)^>>>>>>> ?REPLACE", re.S | re.M
)
_PYTHON = re.compile(r"```(?:python|py)[ \t]*\n(.*?)```", re.S)
_DONE = re.compile(r"^\W*DONE\W*$", re.M)
_PATH = re.compile(r"^[\w./-]+\.\w+$|^[\w./-]*/[\w.-]+$")


@dataclass
class Action:
    """One tool invocation: the tool name, its arguments, and (tools protocol) its call id."""

    tool: str
    args: dict[str, Any] = field(default_factory=dict)
    call_id: str | None = None


def parse_text_actions(text: str) -> list[Action]:
    """The actions in a free-text reply, in the order they appear."""
    found: list[tuple[int, Action]] = []
    for m in _BASH.finditer(text):
        command = m.group(1).strip()
        if command:
            found.append((m.start(), Action("bash", {"command": command})))
    for m in _EDIT.finditer(text):
        path = _path_before(text[: m.start()])
        old, new = m.group(1), m.group(2)
        if path is None:
            found.append(
                (
                    m.start(),
                    Action(
                        "error",
                        {
                            "message": "an edit block needs the file path on the line just before <<<<<<< SEARCH"
                        },
                    ),
                )
            )
        elif not old.strip():
            found.append(
                (m.start(), Action("editor", {"command": "create", "path": path, "file_text": new}))
            )
        else:
            found.append(
                (
                    m.start(),
                    Action(
                        "editor",
                        {"command": "str_replace", "path": path, "old_str": old, "new_str": new},
                    ),
                )
            )
    return [a for _, a in sorted(found, key=lambda pair: pair[0])]


def _path_before(prefix: str) -> str | None:
    """The path written on one of the last two non-fence lines before an edit block."""
    lines = [ln.strip().strip("`*:") for ln in prefix.splitlines()[-3:]]
    for line in reversed([ln for ln in lines if ln and not ln.startswith("```")]):
        if _PATH.match(line):
            return line
    return None


def says_done(text: str) -> bool:
    return bool(_DONE.search(text or ""))


def python_block_actions(text: str) -> list[Action]:
    """Whole-definition replacements from ```python blocks (the last resort of parsing)."""
    return [
        Action("replace_definitions", {"code": m.group(1)})
        for m in _PYTHON.finditer(text)
        if "def " in m.group(1) or "class " in m.group(1)
    ]

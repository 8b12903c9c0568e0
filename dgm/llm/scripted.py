"""`scripted:FILE`: canned responses for tests and demos of control flow. Never a default.

The file (YAML or JSON) is a list of entries, or a mapping with a `responses` list.
An entry is a string (the answer's content) or a mapping:

    - content: "I will look at the file."
    - tool_calls:                      # each: name + arguments (mapping or JSON string)
        - {name: bash, arguments: {command: "ls"}}
    - pattern: "(?i)final answer"      # regex searched in the last message's content
      content: "42"

Entries with a `pattern` answer every request whose last message matches (first match
wins, reusable); the others are served in order, each once. When none is left the call
fails with kind `script_exhausted`.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from dgm.errors import UserError, yaml_problem
from dgm.llm.errors import LLMError
from dgm.llm.provider import Completion
from dgm.llm.wire import chat_response, rough_tokens, tool_call


class ScriptedToolCall(BaseModel):
    name: str
    """Function name."""
    arguments: dict[str, Any] | str = Field(default_factory=dict)
    """Arguments, as a mapping or already a JSON string."""


class ScriptedEntry(BaseModel):
    content: str | None = None
    """The assistant message's text."""
    tool_calls: list[ScriptedToolCall] = Field(default_factory=list)
    """Tool calls the assistant makes."""
    pattern: str | None = None
    """A regex; when set, this entry answers any request whose last message matches."""


def _last_text(request: dict[str, Any]) -> str:
    messages = request.get("messages") or []
    if not messages:
        return ""
    content = messages[-1].get("content")
    if isinstance(content, list):  # content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


class ScriptedProvider:
    cacheable = False
    takes_n = False  # one entry per call: several samples are several calls

    def __init__(self, entries: list[ScriptedEntry], model: str = "scripted") -> None:
        self.model = model
        self._patterned = [(re.compile(e.pattern), e) for e in entries if e.pattern]
        self._ordered = [e for e in entries if not e.pattern]
        self._next = 0
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: str) -> ScriptedProvider:
        p = Path(path)
        if not p.is_file():
            raise UserError(
                f"scripted responses file {path!r} not found: pass scripted:PATH to a YAML or JSON file"
            )
        try:
            data = (
                json.loads(p.read_text()) if p.suffix == ".json" else yaml.safe_load(p.read_text())
            )
            if isinstance(data, dict):
                data = data.get("responses")
            if not isinstance(data, list):
                raise ValueError("expected a list of responses (or a mapping with `responses:`)")
            entries = [
                ScriptedEntry(content=e) if isinstance(e, str) else ScriptedEntry.model_validate(e)
                for e in data
            ]
            for e in entries:
                if e.pattern:
                    re.compile(e.pattern)
        except yaml.YAMLError as e:
            raise UserError(
                f"scripted responses file {path!r} is not valid YAML: {yaml_problem(e)}"
            ) from None
        except (ValueError, ValidationError, re.error) as e:
            raise UserError(
                f"scripted responses file {path!r} is invalid: {str(e).splitlines()[0]}"
            ) from None
        return cls(entries, model=f"scripted:{p.name}")

    def _pick(self, request: dict[str, Any]) -> ScriptedEntry:
        text = _last_text(request)
        for rx, entry in self._patterned:
            if rx.search(text):
                return entry
        with self._lock:
            if self._next >= len(self._ordered):
                raise LLMError(
                    "script_exhausted",
                    f"{self.model}: all {len(self._ordered)} scripted responses used and no pattern matches the last message",
                )
            entry = self._ordered[self._next]
            self._next += 1
            return entry

    def complete(self, request: dict[str, Any], key: str) -> Completion:
        entry = self._pick(request)
        calls = [tool_call(c.name, c.arguments) for c in entry.tool_calls]
        tokens_in = sum(
            rough_tokens(json.dumps(m.get("content") or "")) for m in request.get("messages") or []
        )
        tokens_out = rough_tokens(
            (entry.content or "") + json.dumps([c.model_dump() for c in entry.tool_calls])
        )
        body = chat_response(self.model, entry.content, calls or None, tokens_in, tokens_out)
        return Completion(json.dumps(body).encode(), tokens_in, tokens_out, 0.0)

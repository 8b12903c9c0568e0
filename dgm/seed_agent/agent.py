"""The agent loop: ask the model, run what it asks for, show it the result, repeat, until
it says it is done or a limit is hit. The message list is the trajectory.

In text mode (small models) a reply that changes nothing, or a DONE before any file has
changed, is followed by a constrained call: the model picks one line of the files it was
shown and rewrites it, under a JSON schema (`response_format`) that only admits those
lines. A model too weak to write an edit format still makes an edit that applies."""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import prompts
from .actions import Action, parse_text_actions, python_block_actions, says_done
from .llm import Client, LLMError
from .tools import TOOL_SPECS, bash, editor, replace_definitions, replace_line, truncate

SHOWN_CHARS = 12_000  # budget for files quoted in the first message (tools mode)
SHOWN_CHARS_TEXT = 5_000  # small models: a short prompt, and one they can still read
EDITABLE_LINES = 150  # at most this many lines are offered for a constrained edit
LINE_EDIT_TOKENS = (
    600  # room for the chosen line and a new line at the grammar's 200-character bound
)
EDITS = {"editor", "replace_definitions", "replace_line", "error"}  # actions that only try to edit


@dataclass
class Limits:
    """When the agent stops on its own (the harness has its own, harder, deadline)."""

    max_steps: int = 30
    max_tokens: int = 400_000
    time_limit_s: float = 1800.0
    cmd_timeout_s: float = 120.0


class Agent:
    def __init__(
        self,
        client: Client,
        repo: Path,
        out: Path,
        limits: Limits,
        tool_mode: str = "tools",
        temperature: float = 0.0,
        max_reply_tokens: int | None = None,
    ) -> None:
        self.client, self.repo, self.out, self.limits = client, repo, out, limits
        self.tool_mode = tool_mode
        self.params: dict[str, Any] = {"temperature": temperature}
        if max_reply_tokens:
            self.params["max_tokens"] = max_reply_tokens
        self.messages: list[dict[str, Any]] = []
        self.shown: list[str] = []  # the files quoted in the first message
        self.info: dict[str, Any] = {
            "model": client.model,
            "tool_mode": tool_mode,
            "limits": asdict(limits),
            "steps": 0,
            "tokens": 0,
            "exit_status": "running",
        }
        self.started = time.monotonic()

    def run(self, problem: str) -> dict[str, Any]:
        system = prompts.SYSTEM_TOOLS if self.tool_mode == "tools" else prompts.SYSTEM_TEXT
        self.messages = [
            {"role": "system", "content": system.format(repo=self.repo)},
            {"role": "user", "content": self.first_message(problem)},
        ]
        self.save()
        try:
            while (reason := self.limit_reached()) is None:
                if self.step():
                    reason = "submitted"
                    break
        except LLMError as e:
            reason = "budget_exceeded" if e.kind == "budget_exceeded" else f"llm_error: {e}"
        self.info["exit_status"] = reason
        self.save()
        return self.info

    def limit_reached(self) -> str | None:
        if self.info["steps"] >= self.limits.max_steps:
            return "step_limit"
        if self.info["tokens"] >= self.limits.max_tokens:
            return "token_limit"
        if self.elapsed() >= self.limits.time_limit_s:
            return "time_limit"
        return None

    def step(self) -> bool:
        """One model call and its actions; True when the agent is done."""
        self.info["steps"] += 1
        tools = TOOL_SPECS if self.tool_mode == "tools" else None
        response = self.client.chat(self.messages, tools=tools, **self.params)
        self.info["tokens"] += tokens_used(response, self.messages)
        message = (response.get("choices") or [{}])[0].get("message") or {}
        content = message.get("content") or ""
        tool_calls = message.get("tool_calls") or []
        self.messages.append(
            {
                "role": "assistant",
                "content": content,
                **({"tool_calls": tool_calls} if tool_calls else {}),
            }
        )
        actions = [tool_call_action(c) for c in tool_calls] or parse_text_actions(content)
        if not actions and self.tool_mode == "text" and not says_done(content):
            actions = python_block_actions(content)
        if not actions and self.needs_line_edit():
            actions = [self.line_edit()]
        if not actions:
            if self.tool_mode == "tools" or says_done(content):
                return True
            self.messages.append({"role": "user", "content": prompts.FORMAT_ERROR})
            return False
        self.run_actions(actions)
        if all(a.tool in EDITS for a in actions) and self.needs_line_edit():
            self.run_actions([self.line_edit()])  # its edits all failed: offer the constrained one
        self.save()
        return False

    def needs_line_edit(self) -> bool:
        """Text mode, files were shown, nothing has changed yet, and a model call is left."""
        return (
            self.tool_mode == "text"
            and bool(self.shown)
            and self.limit_reached() is None
            and not repo_changed(self.repo)
        )

    def run_actions(self, actions: list[Action]) -> None:
        observations = []
        for action in actions:
            output = self.execute(action)
            if action.call_id is not None:
                self.messages.append(
                    {"role": "tool", "tool_call_id": action.call_id, "content": output}
                )
            else:
                observations.append(
                    prompts.OBSERVATION.format(what=describe(action), output=output)
                )
        if observations:
            self.messages.append({"role": "user", "content": "\n\n".join(observations)})

    def first_message(self, problem: str) -> str:
        """The issue, the file list, and the source files to read (a weak model can only
        fix what it is shown): those the issue names, else those closest to its words."""
        files = tracked_files(self.repo)
        listing = "\n".join(files[:300]) + (
            f"\n... and {len(files) - 300} more" if len(files) > 300 else ""
        )
        budget = SHOWN_CHARS if self.tool_mode == "tools" else SHOWN_CHARS_TEXT
        shown = []
        named = mentioned_files(problem, files)
        for path in named + [f for f in related_files(problem, self.repo, files) if f not in named]:
            try:
                content = (self.repo / path).read_text(errors="replace")
            except OSError:
                continue
            if len(content) > budget:
                continue
            budget -= len(content)
            self.shown.append(path)
            shown.append(prompts.SHOWN_FILE.format(path=path, content=content.rstrip("\n")))
        return prompts.TASK.format(problem=problem.strip(), files=listing, shown="".join(shown))

    def line_edit(self) -> Action:
        """Ask for one line of the shown files and its new text, under a JSON schema that
        admits only those lines (one more model call)."""
        lines = editable_lines(self.repo, self.shown)
        if not lines:
            return Action("error", {"message": "the files shown have no line to edit"})
        self.info["steps"] += 1
        self.messages.append({"role": "user", "content": prompts.LINE_EDIT})
        schema = {
            "type": "object",
            "properties": {
                "line": {
                    "type": "string",
                    "enum": lines,
                    "description": "The line to change, as it is now.",
                },
                "new_line": {"type": "string", "description": "The line as it should be."},
            },
            "required": ["line", "new_line"],
            "additionalProperties": False,
        }
        response_format = {
            "type": "json_schema",
            "json_schema": {"name": "line_edit", "schema": schema, "strict": True},
        }
        # The reply cap for free text would cut this JSON short: a small model that repeats
        # itself fills the new line up to the grammar's string bound before it closes it.
        params = {
            **self.params,
            "max_tokens": max(self.params.get("max_tokens", 0), LINE_EDIT_TOKENS),
        }
        response = self.client.chat(self.messages, response_format=response_format, **params)
        self.info["tokens"] += tokens_used(response, self.messages)
        content = ((response.get("choices") or [{}])[0].get("message") or {}).get("content") or ""
        self.messages.append({"role": "assistant", "content": content})
        try:
            args = json.loads(content, strict=False)
            return Action(
                "replace_line",
                {"files": self.shown, "line": str(args["line"]), "new_line": str(args["new_line"])},
            )
        except (ValueError, KeyError, TypeError):
            return Action("error", {"message": "the answer was not the JSON object asked for"})

    def execute(self, action: Action) -> str:
        if action.tool == "bash":
            command = str(action.args.get("command", ""))
            if not command.strip():
                return "error: bash needs a command"
            remaining = self.limits.time_limit_s - self.elapsed()
            return bash(command, self.repo, max(1.0, min(self.limits.cmd_timeout_s, remaining)))
        if action.tool == "editor":
            return editor(action.args, self.repo)
        if action.tool == "replace_definitions":
            sources = [
                f
                for f in tracked_files(self.repo)
                if f.endswith(".py")
                and "test" not in f.rsplit("/", 1)[-1]
                and not f.startswith("tests/")
                and "/tests/" not in f
            ]
            return replace_definitions(str(action.args.get("code", "")), self.repo, sources)
        if action.tool == "replace_line":
            return replace_line(
                self.repo, action.args["files"], action.args["line"], action.args["new_line"]
            )
        if action.tool == "error":
            return f"error: {action.args.get('message')}"
        return f"error: there is no tool {action.tool!r}; use bash or editor"

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def save(self) -> None:
        """Write the trajectory now, so an agent killed at the deadline still leaves one."""
        self.info["elapsed_s"] = round(self.elapsed(), 3)
        self.out.mkdir(parents=True, exist_ok=True)
        tmp = self.out / "trajectory.json.tmp"
        tmp.write_text(json.dumps({"messages": self.messages, "info": self.info}, indent=1))
        tmp.replace(self.out / "trajectory.json")


def tool_call_action(call: dict[str, Any]) -> Action:
    fn = call.get("function") or {}
    raw = fn.get("arguments") or "{}"
    try:
        args = json.loads(raw) if isinstance(raw, str) else dict(raw)
    except ValueError as e:
        return Action(
            "error",
            {"message": f"the arguments are not valid JSON ({e}); send a JSON object"},
            call.get("id", ""),
        )
    if not isinstance(args, dict):
        return Action(
            "error", {"message": "the arguments must be a JSON object"}, call.get("id", "")
        )
    return Action(fn.get("name", ""), args, call.get("id", ""))


def describe(action: Action) -> str:
    if action.tool == "replace_definitions":
        return "your python block"
    if action.tool == "replace_line":
        return "your line edit"
    if action.tool == "bash":
        return f"`{truncate(str(action.args.get('command', '')), 200)}`"
    if action.tool == "editor":
        return f"{action.args.get('command')} {action.args.get('path')}"
    return action.tool


def tokens_used(response: dict[str, Any], messages: list[dict[str, Any]]) -> int:
    usage = response.get("usage") or {}
    if usage.get("total_tokens"):
        return int(usage["total_tokens"])
    if usage.get("prompt_tokens") or usage.get("completion_tokens"):
        return int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0))
    return len(json.dumps(messages)) // 4  # no usage reported: a rough estimate


def tracked_files(repo: Path) -> list[str]:
    try:
        out = subprocess.run(
            ["git", "ls-files"], cwd=repo, capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [f for f in out.splitlines() if f]


def repo_changed(repo: Path) -> bool:
    """Has any file of the repository changed (caches aside)?"""
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return True  # cannot tell: do not force an edit
    return any(
        "__pycache__" not in ln and not ln.endswith((".pyc", ".pytest_cache/"))
        for ln in out.splitlines()
    )


def related_files(problem: str, repo: Path, files: list[str]) -> list[str]:
    """Python source files ranked by how many of the problem's words they contain."""
    words = {w.lower() for w in re.findall(r"[A-Za-z_]{4,}", problem)}
    scored = []
    for path in files:
        if not path.endswith(".py") or path.endswith("__init__.py") or "test" in path:
            continue
        try:
            text = (repo / path).read_text(errors="replace").lower()
        except OSError:
            continue
        hits = sum(1 for w in words if w in text)
        if hits:
            scored.append((-hits, len(text), path))
    return [path for _, _, path in sorted(scored)]


def editable_lines(repo: Path, paths: list[str]) -> list[str]:
    """Lines of `paths` that occur exactly once among them (stripped), worth changing."""
    counts: dict[str, int] = {}
    for path in paths:
        try:
            text = (repo / path).read_text(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            key = line.strip()
            if 3 <= len(key) <= 200:
                counts[key] = counts.get(key, 0) + 1
    return [line for line, n in counts.items() if n == 1][:EDITABLE_LINES]


def mentioned_files(problem: str, files: list[str]) -> list[str]:
    """Python source files whose path, module name or file name appears in the problem."""
    words = set(re.findall(r"[\w./-]+", problem))
    found = []
    for path in files:
        if not path.endswith(".py") or path.endswith("__init__.py"):
            continue
        module = path[:-3].replace("/", ".")
        stem = path.rsplit("/", 1)[-1]
        if (
            path in problem
            or module in words
            or stem in words
            or any(w.endswith("." + module.split(".")[-1]) for w in words)
        ):
            found.append(path)
    return found

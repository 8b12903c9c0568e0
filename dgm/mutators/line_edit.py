"""`--operator line_edit`: one small, local edit that any model can make.

The operator draws a run of lines of one file of the parent (one line, or up to
`max_lines` in a row, inside the EVOLVE-BLOCK regions when the file has some, never
starting on a blank line). The model sees the file with numbered lines, the parent's
score, the metrics and feedback of its last evaluation (the evaluator's own text) and the
lines to change, and answers with one JSON object under `edit_schema` (sent as the
request's `response_format`, so the bundled model decodes under a llama.cpp grammar and
its answer always parses):

    {"line": 5, "old": "c1, c2 = 0.4, 0.3", "new": "c1, c2 = 0.5, 0.3"}

`line` and `old` each have one allowed value, the run drawn: writing them out puts the
lines to change right before the model's new code, so that even a 135M model edits them
instead of writing something unrelated. The operator, not the model, picks the lines
because the bundled model, asked to pick, picked line 1 nearly every time (measured).
`new` replaces them, indented as the first line it replaces (`apply_edit`).

In Python files, a share of the samples (`token_share`, and every retry after a refused
whole-line answer) is a token edit instead (dgm/mutators/tokens.py): one number or
comparison of a line, marked under the line, replaced by one of a few choices the schema
lists (a number's neighbours, the comparison's strict or non-strict twin). The answer
always compiles, and even the bundled model's pick is a sensible step; whole lines are
where a capable model does more.

A token edit is asked only with the choices whose child is not already an agent of the
run (`MutationContext.known`, the loop's exact-duplicate check): a site whose every
choice repeats one is passed over for another without a call, so a repeat costs neither
a model call nor a rejected child. A whole-line answer can only be checked once made: one
that repeats an agent is refused and retried like the others.

An edit is refused, with its reason, when it changes nothing (the same code once parsed),
the file no longer compiles, it loads a name the file defines nowhere (it would fail
when run), or it repeats an agent of the run; a refused edit costs no evaluation, only
another sample
(up to `tries`, on another run of lines, at the operator's own temperature, so samples
differ). When every try is refused the expansion fails with the last reason and every
try's reason in its origin, as other operators' failures are recorded. Nothing here knows
a problem or a model.
"""

from __future__ import annotations

import ast
import json
import random
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from benchmarks import pyparse
from benchmarks.problems import ProblemError
from benchmarks.problems.blocks import has_blocks, regions
from dgm.mutators import Chat, EvalView, Mutation, MutationContext
from dgm.mutators.diagnosis import clip
from dgm.mutators.tokens import Site, marked, new_undefined, replace, sites, undefined
from dgm.novelty import Unchanged

PURPOSE = "line_edit"


@dataclass(frozen=True)
class Edit:
    """Replace `count` lines from line `line` (1-based) with `code`."""

    line: int
    count: int
    code: str


# A parent's file is read again for each of its children and each try (its lines, its
# tokens, its parsed tree): what is made of one text is kept for the next, by text.
PARSED = 256  # texts whose parts are kept: parents recur, children are new


def region_lines(source: str) -> list[int]:
    """The 1-based numbers of the lines an edit may touch: those inside the EVOLVE-BLOCK
    regions when the file has well-formed ones, else every line."""
    return list(_region_lines(source))


@lru_cache(maxsize=PARSED)
def _region_lines(source: str) -> tuple[int, ...]:
    n = len(source.splitlines())
    spans = [(0, n)]
    if has_blocks(source):
        try:
            spans = regions(source)
        except ProblemError:
            pass  # malformed markers: the whole file, as the evaluator sees it
    return tuple(i + 1 for a, b in spans for i in range(a, b))


def editable_lines(source: str) -> list[int]:
    """The lines an edit may start at: the non-blank region lines that begin a one-line
    statement, or the one-line header of an `if`, `for`, `while` or `def` (in Python that
    parses; any non-blank region line otherwise). Imports, docstrings, classes and the
    middle of a statement spanning lines are left alone: an edit there breaks the program
    or changes nothing."""
    return list(_editable_lines(source))


@lru_cache(maxsize=PARSED)
def _editable_lines(source: str) -> tuple[int, ...]:
    lines = source.splitlines()
    region = [n for n in region_lines(source) if lines[n - 1].strip()]
    try:
        tree = pyparse.parse(source)
    except (SyntaxError, ValueError):
        return tuple(region)
    starts = {n for node in ast.walk(tree) if (n := one_line_start(node)) is not None}
    return tuple([n for n in region if n in starts] or region)


def one_line_start(node: ast.AST) -> int | None:
    """The line of a statement worth editing alone, or None."""
    if not isinstance(node, ast.stmt) or isinstance(
        node, (ast.Import, ast.ImportFrom, ast.ClassDef, ast.Try)
    ):
        return None
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return None  # a docstring
    head: list[ast.AST] = []
    if isinstance(node, (ast.If, ast.While)):
        head = [node.test]
    elif isinstance(node, (ast.For, ast.AsyncFor)):
        head = [node.target, node.iter]
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        a = node.args
        parts = [*a.posonlyargs, *a.args, *a.kwonlyargs, *a.defaults, a.vararg, a.kwarg]
        head = [p for p in [*parts, *a.kw_defaults, node.returns] if p is not None]
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        head = list(node.items)
    elif isinstance(node, ast.Match):
        head = [node.subject]
    if head or hasattr(node, "body"):  # a compound statement: its header on one line
        ends = [getattr(h, "end_lineno", None) or node.lineno for h in head]
        return node.lineno if all(e == node.lineno for e in ends) else None
    return node.lineno if node.end_lineno == node.lineno else None


def draw_run(
    source: str, max_lines: int, rng: random.Random, tried: frozenset[int] = frozenset()
) -> tuple[int, int] | None:
    """(first line, how many) of a run of lines to change, not starting on a line in
    `tried` while others are left (the same prompt may well get the same answer): one line
    three times in four, else up to `max_lines` in a row, all inside the editable region;
    None if nothing may change. Mostly one line: asked for a run, a small model writes one
    line and loses the rest."""
    starts = editable_lines(source)
    if not starts:
        return None
    line = rng.choice([n for n in starts if n not in tried] or starts)
    inside = set(region_lines(source))
    longest = 1
    while longest < max_lines and line + longest in inside:
        longest += 1
    count = 1 if longest == 1 or rng.random() < 0.75 else rng.randint(2, longest)
    return line, count


def old_text(source: str, line: int, count: int) -> str:
    """The lines `line`..`line + count - 1`, dedented, as the model is shown them."""
    lines = source.splitlines()[line - 1 : line - 1 + count]
    return textwrap.dedent("\n".join(lines)).strip("\n")


def answer_schema(
    line: int, old: str, new: dict[str, Any], what: tuple[str, str]
) -> dict[str, Any]:
    """An edit's answer schema, in the subset every structured-output API accepts: `line`
    and `old` (one allowed value each, described by `what`), then `new`."""
    return {
        "type": "object",
        "properties": {
            "line": {"type": "integer", "enum": [line], "description": what[0]},
            "old": {"type": "string", "enum": [old], "description": what[1]},
            "new": new,
        },
        "required": ["line", "old", "new"],
        "additionalProperties": False,
    }


def edit_schema(line: int, old: str) -> dict[str, Any]:
    """A line edit's answer schema: the run drawn, then the new code."""
    new = {"type": "string", "description": "The new code that replaces them."}
    return answer_schema(line, old, new, ("The first line to change.", "The lines as they are."))


def token_sites(path: str, source: str) -> list[Site]:
    """The tokens a token edit may change: on the lines a line edit may start at, in
    Python files."""
    return list(_sites(source)) if path.endswith(".py") else []


@lru_cache(maxsize=PARSED)
def _sites(source: str) -> tuple[Site, ...]:
    return tuple(sites(source, set(_editable_lines(source))))


def token_schema(site: Site, choices: Sequence[str]) -> dict[str, Any]:
    """A token edit's answer schema: the site, then one of `choices` (the site's, in the
    order the prompt lists them)."""
    new = {"type": "string", "enum": list(choices), "description": "What replaces it."}
    return answer_schema(site.line, site.old, new, ("The line.", "The token as it is."))


def answer_json(text: str) -> object:
    """The model's answer parsed, or ValueError saying it is not JSON."""
    try:
        return json.loads(text, strict=False)
    except json.JSONDecodeError as e:
        raise ValueError(f"the answer is not JSON: {e}") from None


def parse_token(text: str, site: Site, choices: Sequence[str] | None = None) -> str:
    """The token's new text in a JSON answer (one of `choices`, by default the site's), or
    ValueError."""
    allowed = site.choices if choices is None else choices
    data = answer_json(text)
    new = data.get("new") if isinstance(data, dict) else None
    if not isinstance(new, str) or new not in allowed:
        raise ValueError(f"'new' must be one of {', '.join(allowed)}")
    return new


def parse_edit(text: str, count: int) -> Edit:
    """The edit in a JSON answer (`count`: how many lines it replaces), or ValueError."""
    data = answer_json(text)
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    line, code = data.get("line"), data.get("new")
    if not isinstance(line, int) or isinstance(line, bool):
        raise ValueError("'line' must be an integer")
    if not isinstance(code, str):
        raise ValueError("'new' must be a string")
    return Edit(line, count, code)


def apply_edit(source: str, edit: Edit, max_lines: int) -> str:
    """`source` with the edit made, or ValueError saying why it cannot be. The new code is
    dedented, then indented as the first line it replaces (small models lose indentation)."""
    inside = set(region_lines(source))
    lines = source.splitlines(keepends=True)
    if edit.line not in inside or not lines[edit.line - 1].strip():
        raise ValueError(f"line {edit.line} is not one of the lines that may change")
    if not 1 <= edit.count <= max_lines:
        raise ValueError(f"an edit replaces 1 to {max_lines} lines, not {edit.count}")
    if any(n not in inside for n in range(edit.line, edit.line + edit.count)):
        raise ValueError(
            f"lines {edit.line}-{edit.line + edit.count - 1} leave the editable region"
        )
    start = edit.line - 1
    old, tail = lines[start : start + edit.count], lines[start + edit.count :]
    indent = old[0][: len(old[0]) - len(old[0].lstrip())]
    body = textwrap.dedent(edit.code.replace("\r\n", "\n")).strip("\n")
    new = "".join((indent + ln if ln.strip() else "") + "\n" for ln in body.split("\n"))
    if not body.strip():
        new = ""  # the edit deletes the lines
    elif not tail and not old[-1].endswith("\n"):
        new = new.removesuffix("\n")
    return "".join(lines[:start]) + new + "".join(tail)


def refusal(path: str, before: str, after: str) -> str | None:
    """Why the edited file must not be evaluated, or None. For Python, the same code once
    parsed (only spaces or comments differ) is no change."""
    if after == before:
        return "the edit changes nothing"
    if not path.endswith(".py"):
        return None
    try:
        tree = pyparse.parse(after, path)
        compile(tree, path, "exec", dont_inherit=True)  # what parsing alone lets through
    except (SyntaxError, ValueError) as e:
        line = getattr(e, "lineno", None)
        return f"the file no longer compiles: {path}:{line}: {getattr(e, 'msg', str(e))}"
    parent = parent_code(before)
    if parent is not None and ast.dump(tree) == parent.dump:
        return "the edit changes nothing: only spaces or comments differ"
    if invented := new_undefined(parent.undefined if parent else frozenset(), tree):
        names = ", ".join(f"`{n}`" for n in invented[:3])
        return f"the edit uses {names}, defined nowhere in {path}"
    return None


@dataclass(frozen=True)
class ParentCode:
    """What `refusal` compares a child's code with: its parent's tree, dumped, and the
    names the parent loads and defines nowhere."""

    dump: str
    undefined: frozenset[str]


@lru_cache(maxsize=PARSED)
def parent_code(source: str) -> ParentCode | None:
    """The parent's `ParentCode`, or None when it does not parse (an agent's data file
    named .py)."""
    try:
        tree = pyparse.parse(source)
    except SyntaxError:
        return None
    return ParentCode(ast.dump(tree), frozenset(undefined(tree)))


TRAILING = "}]),;:. "  # what a model writing JSON tends to leave after the code
CLOSERS = {"(": ")", "[": "]", "{": "}"}


def balanced(code: str) -> str:
    """`code` with the brackets it leaves open closed at its end (outside strings, roughly)."""
    stack: list[str] = []
    for ch in code:
        if ch in CLOSERS:
            stack.append(CLOSERS[ch])
        elif stack and ch == stack[-1]:
            stack.pop()
    return code + "".join(reversed(stack))


def repaired(source: str, edit: Edit, path: str, max_lines: int) -> str | None:
    """The edited file when its new code compiles only once repaired the way a small model
    needs it: up to four trailing characters of `TRAILING` dropped (it closes its JSON
    inside the string), or the brackets it left open closed."""
    code = edit.code.rstrip()
    candidates = [balanced(code)]
    for _ in range(4):
        if not code or code[-1] not in TRAILING:
            break
        code = code[:-1].rstrip()
        candidates += [code, balanced(code)]
    for candidate in candidates:
        after = apply_edit(source, Edit(edit.line, edit.count, candidate), max_lines)
        if refusal(path, source, after) is None:
            return after
    return None


def numbered(source: str, first: int, last: int) -> str:
    """Lines first..last (1-based, inclusive) with their numbers."""
    lines = source.splitlines()
    width = len(str(last))
    return "\n".join(f"{n:>{width}}| {lines[n - 1]}" for n in range(first, last + 1))


def listing(source: str, line: int, max_chars: int) -> str:
    """The file with numbered lines; when it is longer than `max_chars`, the lines around
    `line` that fit."""
    lines = source.splitlines()
    if len(source) + 6 * len(lines) <= max_chars:
        return numbered(source, 1, len(lines))
    first = last = line
    total = len(lines[line - 1]) + 6
    while True:
        grew = False
        for n in (first - 1, last + 1):
            if 1 <= n <= len(lines) and total + len(lines[n - 1]) + 6 <= max_chars:
                total += len(lines[n - 1]) + 6
                first, last = min(first, n), max(last, n)
                grew = True
        if not grew:
            return numbered(source, first, last)


def score_text(evaluations: Sequence[EvalView], direction: str | None) -> str:
    """The parent's score as its evaluations give it."""
    scores = [e.score for e in evaluations if e.score is not None]
    if not scores:
        return "(not scored)"
    if direction is not None:  # a problem's program: its primary score, raw
        return f"{scores[-1]:.6g} ({'lower' if direction == 'min' else 'higher'} is better)"
    return f"{sum(scores) / len(scores):.3g} (tasks resolved, out of 1; higher is better)"


def last_evaluation(evaluations: Sequence[EvalView], rng: random.Random) -> EvalView | None:
    """The evaluation whose feedback the prompt shows: a problem's one evaluation, or for an
    agent one of its failed tasks (any task when it failed none)."""
    if not evaluations:
        return None
    failed = [e for e in evaluations if not e.resolved]
    return rng.choice(sorted(failed or evaluations, key=lambda e: e.task_id))


def evaluation_parts(
    evaluations: Sequence[EvalView], direction: str | None, ev: EvalView | None, share: int
) -> list[str]:
    """A prompt's parts on how the parent did: its score, then the metrics and feedback of
    `ev` (its last evaluation, in the evaluator's own words), each clipped to `share`."""
    parts = [f"# Its score\n{score_text(evaluations, direction)}"]
    if ev is not None and ev.metrics:
        metrics = "\n".join(f"{k} = {v:.6g}" for k, v in sorted(ev.metrics.items()))
        parts.append(f"# Metrics of its last evaluation\n{clip(metrics, share)}")
    feedback = (ev.feedback or ev.test_report).strip() if ev is not None else ""
    if feedback not in ("", "{}", "[]"):
        parts.append(f"# Feedback of its last evaluation\n{clip(feedback, share)}")
    return parts


@dataclass(frozen=True)
class Editing:
    """What every sample for one child shares: the file, its text, the mutation's context
    and the evaluation its prompts show."""

    path: str
    source: str
    ctx: MutationContext
    ev: EvalView | None

    def child(self, after: str) -> dict[str, bytes]:
        """The parent's files with this file's text replaced by `after`."""
        return {**{k: bytes(v) for k, v in self.ctx.files.items()}, self.path: after.encode()}

    @cached_property
    def unchanged(self) -> Unchanged:
        return Unchanged(self.ctx.files, self.path)

    def known(self, after: str) -> bool:
        """Whether the child with this file's text `after` is an agent of the run already:
        asked of a view of the parent's files with the one changed (`Edited`), whose key
        is built from that file, not of a copy of them all."""
        return self.ctx.known(self.unchanged.edited(after.encode()))


@dataclass
class LineEditMutator:
    """The `line_edit` operator. `chat` samples at the operator's temperature; `main_file`:
    the file to edit (a problem's program), or None to draw one of the parent's .py files."""

    chat: Chat
    main_file: str | None = None
    direction: str | None = None  # a problem's ('min' or 'max'); None for an agent
    max_lines: int = 3
    tries: int = 3
    token_share: float = 0.5
    max_chars: int = 4000
    name: str = "line_edit"

    def target(self, files: Mapping[str, bytes], rng: random.Random) -> str | None:
        if self.main_file is not None:
            return self.main_file if self.main_file in files else None
        py = sorted(p for p in files if p.endswith(".py") and files[p].strip())
        return rng.choice(py) if py else None

    def context(self, f: Editing, line: int) -> list[str]:
        """What every prompt shows first: the numbered file around `line`, the score, the
        metrics and feedback of the last evaluation."""
        listed = f"# {f.path}\n{listing(f.source, line, self.max_chars // 2)}"
        share = self.max_chars // 4
        return [listed, *evaluation_parts(f.ctx.evaluations, self.direction, f.ev, share)]

    def prompt(self, f: Editing, run: tuple[int, int]) -> str:
        line, count = run
        which = f"line {line}" if count == 1 else f"lines {line} to {line + count - 1}"
        ask = (
            f"Change {which} so that the score gets better (a number, an operator, a call, "
            f"a condition...):\n{old_text(f.source, line, count)}\n\n"
            f'Answer with JSON: "line" is {line}, "old" the code of {which} as it is, '
            '"new" your new code that replaces it.'
        )
        return "\n\n".join([*self.context(f, line), ask])

    def token_prompt(self, f: Editing, site: Site, choices: Sequence[str]) -> str:
        what = "number" if site.is_number else "token"
        ask = (
            f"Replace the {what} `{site.old}` on line {site.line} so that the score gets "
            f"better, with one of: {'  '.join(choices)}\n{marked(f.source, site)}\n\n"
            f'Answer with JSON: "line" is {site.line}, "old" is "{site.old}", "new" the '
            f"{what} that replaces it."
        )
        return "\n\n".join([*self.context(f, site.line), ask])

    def mutate(self, ctx: MutationContext) -> Mutation:
        origin: dict[str, Any] = {"operator": self.name}
        path = self.target(ctx.files, ctx.rng)
        if path is None:
            return Mutation(None, origin, "the parent has no file to edit")
        source = ctx.files[path].decode(errors="replace")
        ev = last_evaluation(ctx.evaluations, ctx.rng)
        origin.update(path=path, feedback_of=ev.task_id if ev else None)
        tokens = token_sites(path, source)
        editing = Editing(path, source, ctx, ev)
        tries: list[dict[str, Any]] = []
        reason = f"{path} has no line that may change"
        for attempt in range(1, self.tries + 1):
            tried = frozenset(t["line"] for t in tries)
            # After a refused whole-line answer, a token edit: its answer always compiles.
            after_line = bool(tries) and "token" not in tries[-1]
            picked = None
            if tokens and (after_line or ctx.rng.random() < self.token_share):
                picked = self.new_site(editing, tokens, tried)
                if picked is None:  # every token edit repeats an agent: none left to ask
                    tokens = []
            if picked is not None:
                site, choices = picked
                record, after, reason = self.token_try(editing, site, choices)
            else:
                run = draw_run(source, self.max_lines, ctx.rng, tried)
                if run is None:
                    break
                record, after, reason = self.line_try(editing, run)
                if not reason and editing.known(after):
                    reason = "the edit repeats an agent of the run"
            record = {"attempt": attempt, **record}
            if not reason:
                tries.append(record)
                return Mutation(editing.child(after), {**origin, "edit": record, "tries": tries})
            tries.append({**record, "refused": reason})
        origin["tries"] = tries
        return Mutation(None, origin, f"no usable edit after {len(tries)} tries: {reason}")

    def ask(self, prompt: str, schema: dict[str, Any], ctx: MutationContext) -> str:
        messages = [{"role": "user", "content": prompt}]
        return self.chat.complete(  # sampled: not the engine's temperature-0 chat
            messages, purpose=PURPOSE, agent_id=ctx.parent_id, schema=schema
        )

    def line_try(self, f: Editing, run: tuple[int, int]) -> tuple[dict[str, Any], str, str]:
        """One sample of a line edit: (its record, the edited file, why it is refused or '')."""
        path, source = f.path, f.source
        line, count = run
        schema = edit_schema(line, old_text(source, line, count))
        answer = self.ask(self.prompt(f, run), schema, f.ctx)
        record: dict[str, Any] = {"line": line, "lines": count}
        try:
            edit = parse_edit(answer, count)
            record["new"] = edit.code
            after = apply_edit(source, Edit(line, count, edit.code), self.max_lines)
        except ValueError as e:
            return record, source, str(e)
        reason = refusal(path, source, after) or ""
        if reason.startswith("the file no longer compiles"):
            fixed = repaired(source, Edit(line, count, edit.code), path, self.max_lines)
            if fixed is not None:
                after, reason, record["trimmed"] = fixed, "", True
        return record, after, reason

    def new_site(
        self, f: Editing, tokens: Sequence[Site], tried: frozenset[int]
    ) -> tuple[Site, list[str]] | None:
        """A site to ask about (on a line not tried yet while there are others) and its
        choices whose child is not an agent of the run already; None when every choice of
        every site repeats one. Sites are drawn as before until one has a new choice."""
        left = list(tokens)
        while left:
            fresh = [t for t in left if t.line not in tried] or left
            site = f.ctx.rng.choice(fresh)
            new = [c for c in site.choices if not f.known(replace(f.source, site, c))]
            if new:
                return site, new
            left.remove(site)
        return None

    def token_try(
        self, f: Editing, site: Site, choices: list[str]
    ) -> tuple[dict[str, Any], str, str]:
        """One sample of a token edit among `choices` (the site's that make a new child):
        (its record, the edited file, why it is refused or '')."""
        shown = list(choices)
        f.ctx.rng.shuffle(shown)  # a small model favours the first: no direction is favoured
        answer = self.ask(self.token_prompt(f, site, shown), token_schema(site, shown), f.ctx)
        record: dict[str, Any] = {"line": site.line, "lines": 1, "token": site.old}
        if len(choices) < len(site.choices):
            record["repeats_left_out"] = len(site.choices) - len(choices)
        try:
            new = parse_token(answer, site, choices)
        except ValueError as e:
            return record, f.source, str(e)
        record["new"] = new
        after = replace(f.source, site, new)
        return record, after, refusal(f.path, f.source, after) or ""

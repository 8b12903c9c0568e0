"""The smallest edits of Python code: one token changed, and names an edit must not invent.

A token edit is one small step on one line: a number (not a subscript) becomes one of its
`neighbours` (nearby values on a log scale), or a comparison its strict or non-strict
twin (`<` and `<=`). The model only picks the choice (the answer's schema lists them), so the answer
always parses, the program always compiles, and even a 135M model's pick is a sensible
move: asked for any number, the bundled model wrote 1 for 1000 and 1001 for -5
(measured). Small steps on constants are also what hill climbing needs: it compounds them.

A site in the value of an assignment to a function's local name that nothing reads (an
unused `threshold = 0.7`) is no site: any value there scores as its parent does, so an
evaluation would be spent to learn nothing (`unread_spans`). Only locals: a module's name
may be read by whoever imports it.

`new_undefined` is a refusal rule for every edit of Python: a name the edit loads that
nothing in the file defines (nor Python's builtins) fails at run time, so evaluating it
would only spend an evaluation to learn that. Small models write such names often
(`your_new_code`, `best_x_old`); a strong model's edit that imports what it uses passes.
"""

from __future__ import annotations

import ast
import builtins
import io
import keyword
import tokenize
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from benchmarks import pyparse

# Tokens one step apart: a comparison and its strict or non-strict twin. Other swaps
# (`+` for `*`, `max` for `min`, `<` for `>`) are leaps, not steps: whole-line edits
# make those.
SWAPS: tuple[frozenset[str], ...] = (frozenset({"<", "<="}), frozenset({">", ">="}))
# What comes right before a unary minus (so `-5` in `(-5, 5)` is one number).
UNARY_AFTER = frozenset({"(", "[", "{", ",", "=", ":", "return", "lambda", "in", "**", "*", "/"})


# A number's neighbours: these multiples of it (and for small integers one up and down).
FACTORS = (0.5, 0.8, 0.9, 1.1, 1.25, 2.0)


@dataclass(frozen=True)
class Site:
    """One token of line `line` (1-based), columns [start, end), that an edit may change
    into one of `choices`."""

    line: int
    start: int
    end: int
    old: str
    choices: tuple[str, ...]

    @property
    def is_number(self) -> bool:
        return self.old.lstrip("-")[:1].isdigit() or self.old.lstrip("-")[:1] == "."


def sites(source: str, lines: set[int]) -> list[Site]:
    """The tokens on `lines` an edit may change, in order; none for code that does not
    tokenize. A number's site takes in a unary minus before it."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return []
    try:
        dead = unread_spans(source)
    except (SyntaxError, ValueError):
        dead = []
    out: list[Site] = []
    for i, tok in enumerate(tokens):
        (row, col), (end_row, end) = tok.start, tok.end
        if row not in lines or end_row != row:
            continue
        if tok.type == tokenize.NUMBER and is_real(tok.string) and not index(tokens, i):
            minus = tokens[i - 1] if i else None
            if (
                minus is not None
                and minus.string == "-"
                and minus.start[0] == row
                and unary(tokens, i - 1)
            ):
                out.append(
                    Site(row, minus.start[1], end, "-" + tok.string, neighbours("-" + tok.string))
                )
            else:
                out.append(Site(row, col, end, tok.string, neighbours(tok.string)))
        elif tok.type == tokenize.OP:
            group = next((g for g in SWAPS if tok.string in g), None)
            if group is None:
                continue
            out.append(Site(row, col, end, tok.string, tuple(sorted(group - {tok.string}))))
    return [s for s in out if not any(inside(s, span) for span in dead)]


# (first line, first column, last line, end column) of code, columns in characters.
Span = tuple[int, int, int, int]
# Calls that read a function's locals by name: with one, every local may be read.
READS_LOCALS = frozenset({"locals", "vars", "eval", "exec"})


def unread_spans(source: str) -> list[Span]:
    """Where the values assigned to function locals that nothing reads are: `x = 0.7` with
    no `x` loaded anywhere in its function (nested functions included), nor declared
    global or nonlocal there. Element by element for `a, b = 1, 2`."""
    tree = pyparse.parse(source)
    lines = source.splitlines()
    spans: list[Span] = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        inner = list(ast.walk(fn))
        read = {n.id for n in inner if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        for n in inner:
            if isinstance(n, (ast.Global, ast.Nonlocal)):
                read.update(n.names)
        if read & READS_LOCALS:
            continue
        for node in inner:
            for target, value in assigned(node):
                if isinstance(target, ast.Name) and target.id not in read:
                    spans.append(char_span(lines, value))
    return spans


def assigned(node: ast.AST) -> list[tuple[ast.expr, ast.expr]]:
    """(target, value) pairs of an assignment statement: one for `x = v`, `x: T = v` and
    `x += v`, one per element for `a, b = 1, 2`; none for anything else."""
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)) and node.value is not None:
        return [(node.target, node.value)]
    if not isinstance(node, ast.Assign) or len(node.targets) != 1:
        return []
    target, value = node.targets[0], node.value
    if (
        isinstance(target, (ast.Tuple, ast.List))
        and isinstance(value, (ast.Tuple, ast.List))
        and len(target.elts) == len(value.elts)
        and not any(isinstance(e, ast.Starred) for e in [*target.elts, *value.elts])
    ):
        return list(zip(target.elts, value.elts, strict=True))
    return [(target, value)]


def char_span(lines: list[str], node: ast.expr) -> Span:
    """A node's span with columns in characters, as tokenize counts them (ast's are bytes)."""
    end_line = node.end_lineno or node.lineno
    end_col = node.end_col_offset if node.end_col_offset is not None else node.col_offset

    def chars(line: int, col: int) -> int:
        return len(lines[line - 1].encode()[:col].decode(errors="ignore"))

    return (node.lineno, chars(node.lineno, node.col_offset), end_line, chars(end_line, end_col))


def inside(site: Site, span: Span) -> bool:
    first, start, last, end = span
    return (site.line, site.start) >= (first, start) and (site.line, site.end) <= (last, end)


def unary(tokens: list[tokenize.TokenInfo], i: int) -> bool:
    """Whether the `-` at `i` is a sign: the number site owns it then."""
    if i == 0 or tokens[i - 1].start[0] != tokens[i].start[0]:
        return True
    prev = tokens[i - 1]
    return prev.string in UNARY_AFTER or (
        prev.type == tokenize.NAME and keyword.iskeyword(prev.string)
    )


def index(tokens: list[tokenize.TokenInfo], i: int) -> bool:
    """Whether the number at `i` is a whole subscript (`bounds[0]`, `xs[-1]`): it addresses
    data rather than tunes anything, and another value mostly breaks the program."""
    j = i - 1 if tokens[i - 1].string == "-" else i
    if j < 2 or i + 1 >= len(tokens) or tokens[i + 1].string != "]":
        return False
    opener, before = tokens[j - 1], tokens[j - 2]
    return opener.string == "[" and (
        before.string in (")", "]")
        or (before.type == tokenize.NAME and not keyword.iskeyword(before.string))
    )


def is_real(text: str) -> bool:
    """A decimal int or float literal (not complex, hex, octal or binary)."""
    t = text.lower().replace("_", "")
    return not t.endswith("j") and not t.startswith(("0x", "0o", "0b"))


def neighbours(literal: str) -> tuple[str, ...]:
    """Values near a number literal, as literals of its kind: its `FACTORS` multiples (an
    int's rounded, a float's to three significant digits; for a float between 0.5 and 1,
    the multiples of its distance to 1, so 0.999 steps to 0.998, not to 0.899), an int's
    one up and one down when it is small; never the value itself."""
    value = float(literal.replace("_", ""))
    if not any(c in literal.lower() for c in ".e"):  # an int
        whole = int(value)
        near = {round(whole * f) for f in FACTORS} | (
            {whole - 1, whole + 1} if abs(whole) <= 10 else set()
        )
        if whole == 0:
            near = {-1, 1, 2}
        return tuple(str(n) for n in sorted(near - {whole}))
    if 0.5 < value < 1:  # a fraction near 1 (a decay, a momentum): steps of its gap to 1
        floats = {round(1 - (1 - value) * f, 12) for f in FACTORS}
    elif value:
        floats = {float(f"{value * f:.3g}") for f in FACTORS}
    else:
        floats = {-0.1, 0.1, 0.5, 1.0}
    return tuple(repr(x) for x in sorted(floats - {value}))


def replace(source: str, site: Site, new: str) -> str:
    """`source` with the token at `site` replaced by `new`."""
    lines = source.splitlines(keepends=True)
    text = lines[site.line - 1]
    lines[site.line - 1] = text[: site.start] + new + text[site.end :]
    return "".join(lines)


def marked(source: str, site: Site) -> str:
    """The site's line with a caret line under the token, as a compiler points at one."""
    text = source.splitlines()[site.line - 1]
    return f"{text}\n{' ' * site.start}{'^' * max(1, site.end - site.start)}"


# -- names an edit must not invent ------------------------------------------------------


def defined_names(tree: ast.AST) -> set[str] | None:
    """Every name the module defines anywhere (any scope), or None if a star import makes
    that unknowable."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    return names


def undefined(tree: ast.AST) -> set[str]:
    """Names the module loads that nothing in it (nor the builtins) defines."""
    defined = defined_names(tree)
    if defined is None:
        return set()
    known = defined | set(dir(builtins)) | {"__file__", "__name__", "__doc__", "__builtins__"}
    return {
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in known
    }


def new_undefined(parent_undefined: AbstractSet[str], after: ast.AST) -> list[str]:
    """Names the edited module loads and defines nowhere that its parent did not already
    load (`parent_undefined`, the parent's `undefined`: a parent's own unresolved names,
    e.g. set by its host, are its business)."""
    return sorted(undefined(after) - parent_undefined)

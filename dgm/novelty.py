"""Novelty: no evaluation spent on a child that another agent of its run already is.

Before a child is evaluated, the loop compares it with every agent of its run (the seed,
the evaluated, the pending ones still in flight, the rejected ones):

- **duplicate**: every file of the child normalises equal to the same file of one agent,
  and the two trees have the same paths. Normalising drops what cannot change behaviour:
  Python is parsed and unparsed with `ast` (comments, docstrings, formatting gone); the
  C family (C, C++, Java, JavaScript, TypeScript, Go, Rust, C#...) loses its comments and
  has every run of whitespace folded to one space; any other text file only loses trailing
  whitespace and blank lines (indentation may mean something: YAML, Makefiles).
- **near-duplicate** (`novelty.threshold`): the child's similarity to its most similar
  agent reaches the threshold. Similarity is token based: 2 * matched tokens / all tokens
  (difflib's ratio), file by file, matched as `diff` does (whole lines, then the tokens of
  the lines that differ: `matched`). Tokens rather than an AST because one measure then
  covers every language, and after `ast.unparse` a Python file's tokens are its AST's
  anyway; rather than embeddings because it needs no model, is exact and reproducible. It
  is 1.0 for duplicates and about 1 - k/n for k changed tokens of n.
- **judged** (`novelty.judge_model`): between `novelty.judge_from` and the threshold an
  LLM, given the diff, decides under a JSON schema whether the child is meaningfully new
  (ShinkaEvolve's idea: embeddings there, tokens here).

The loop checks and records a child as one step (under a lock: a comparison with every
agent, or a judge, runs in a worker thread), so two children in flight at once
(workers > 1) cannot both pass as new: the second one finds the first in the index. The
index is rebuilt from the archive on resume: from the key stored with each agent at
admission (`Novelty.key`) when only the exact check is on, else from the agents' files.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from benchmarks import pyparse

if TYPE_CHECKING:  # dgm.config loads pydantic: the report and the UI need only the counts
    from hashlib import _Hash

    from dgm.config import NoveltySettings
    from dgm.mutators import Chat

Kind = Literal["duplicate", "near-duplicate"]
KINDS: tuple[Kind, ...] = ("duplicate", "near-duplicate")  # a rejection reason's first word

C_FAMILY = {
    ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".java", ".js", ".mjs", ".cjs",
    ".ts", ".tsx", ".jsx", ".go", ".rs", ".cs", ".kt", ".scala", ".swift", ".dart",
}  # fmt: skip
# A string literal is kept whole (a "//" in a URL is no comment), a comment is dropped.
C_TOKENS = re.compile(
    r'("(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|`(?:\\.|[^`\\])*`)|//[^\n]*|/\*.*?\*/', re.S
)
TOKEN = re.compile(r"\w+|\S")
STATEMENT_END = {";", "{", "}"}  # where a C-family line, folded to one, is cut again
# Stored keys (the archive's agents.content_key) carry this: change it whenever normalising
# changes, so that a resume reads the files of agents whose stored key is stale.
KEY_VERSION = "n1"


# -- normalising --------------------------------------------------------------------------


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _plain(text: str) -> str:
    """Lines without trailing whitespace; no blank lines; \\n line ends."""
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


def normalise(path: str, data: bytes) -> str:
    """The file's code with what cannot change behaviour removed (see the module doc). A
    file that is not UTF-8 is kept as its bytes' hex; Python that does not parse is
    normalised as plain text."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data.hex()
    suffix = path[path.rfind(".") :].lower() if "." in path.rsplit("/", 1)[-1] else ""
    if suffix in (".py", ".pyi"):
        try:
            return ast.unparse(_strip_docstrings(pyparse.parse(text)))
        except (SyntaxError, ValueError, RecursionError):
            return _plain(text)
    if suffix in C_FAMILY:
        kept = C_TOKENS.sub(lambda m: m.group(1) or " ", text)
        return " ".join(kept.split())
    return _plain(text)


def normalise_tree(files: Mapping[str, bytes]) -> dict[str, str]:
    return {path: normalise(path, data) for path, data in files.items()}


def file_part(path: str, normalised: str) -> bytes:
    """One file's part of its tree's key: its path and normalised text, length-prefixed."""
    out = b""
    for part in (path, normalised):
        raw = part.encode("utf-8", "surrogatepass")
        out += len(raw).to_bytes(8, "big") + raw
    return out


def tree_key(normalised: Mapping[str, str]) -> str:
    """Equal for two trees exactly when they have the same paths, each normalised equal."""
    h = hashlib.sha256()
    for path in sorted(normalised):
        h.update(file_part(path, normalised[path]))
    return h.hexdigest()


NormaliseFile = Callable[[str, bytes], str]  # `normalise`, or a cache of it


class Unchanged:
    """A parent's files but one (`path`), normalised and hashed once, for checking many
    edits of that one file (`edited`) without copying or hashing the others again."""

    def __init__(self, files: Mapping[str, bytes], path: str) -> None:
        self.files, self.path = files, path
        self._around: tuple[_Hash, bytes] | None = None  # on first need (`key_with`)

    def key_with(self, data: bytes, normalise_file: NormaliseFile = normalise) -> str:
        """`tree_key` of the parent's files with `path` holding `data`: from the hash of
        the files sorted before `path` and the parts of those after it, kept."""
        if self._around is None:
            before, after = hashlib.sha256(), []
            for p in sorted(self.files):
                if p != self.path:
                    part = file_part(p, normalise_file(p, self.files[p]))
                    if p < self.path:
                        before.update(part)
                    else:
                        after.append(part)
            self._around = before, b"".join(after)
        h = self._around[0].copy()
        h.update(file_part(self.path, normalise_file(self.path, data)))
        h.update(self._around[1])
        return h.hexdigest()

    def edited(self, data: bytes) -> Edited:
        return Edited(self, data)


class Edited(Mapping[str, bytes]):
    """The parent's files with `Unchanged.path` holding `data`, read through (no copy);
    its exact-duplicate `key` is built from the one changed file (`Novelty.seen`)."""

    def __init__(self, unchanged: Unchanged, data: bytes) -> None:
        self.unchanged, self.data = unchanged, data

    def __getitem__(self, path: str) -> bytes:
        return self.data if path == self.unchanged.path else self.unchanged.files[path]

    def __iter__(self) -> Iterator[str]:
        yield from (p for p in self.unchanged.files if p != self.unchanged.path)
        yield self.unchanged.path

    def __len__(self) -> int:
        return len(self.unchanged.files) + (self.unchanged.path not in self.unchanged.files)

    def key(self, normalise_file: NormaliseFile = normalise) -> str:
        return self.unchanged.key_with(self.data, normalise_file)


Lines = list[tuple[str, ...]]  # a file's tokens, line by line


def lines(text: str) -> Lines:
    """The tokens (words and single symbols) of a normalised file, line by line; a line is
    also cut after `;`, `{` and `}`, so C-family code folded to one line has lines again."""
    out: Lines = []
    for line in text.splitlines():
        current: list[str] = []
        for token in TOKEN.findall(line):
            current.append(token)
            if token in STATEMENT_END:
                out.append(tuple(current))
                current = []
        if current:
            out.append(tuple(current))
    return out


def tokens(normalised: Mapping[str, str]) -> dict[str, Lines]:
    """Each file's tokens, line by line."""
    return {path: lines(text) for path, text in normalised.items()}


def size(file: Lines) -> int:
    return sum(map(len, file))


def matched(a: Lines, b: Lines) -> int:
    """Tokens of `a` that match, in order, tokens of `b`: difflib's matching over lines (a
    line matches whole), then over the tokens of each run of lines that differ. As exact as
    difflib over all tokens for the small edits that matter here, and fast on big files."""
    total = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            total += size(a[i1:i2])
        elif tag == "replace":
            ta = [t for line in a[i1:i2] for t in line]
            tb = [t for line in b[j1:j2] for t in line]
            blocks = difflib.SequenceMatcher(None, ta, tb, autojunk=False).get_matching_blocks()
            total += sum(block.size for block in blocks)
    return total


def similarity(a: Mapping[str, Lines], b: Mapping[str, Lines]) -> float:
    """2 * matched tokens / all tokens of two trees, 0..1 (difflib's ratio), file by file:
    a file matches only the file of the same path in the other tree."""
    total = sum(map(size, a.values())) + sum(map(size, b.values()))
    same = sum(size(a[p]) if a[p] == b[p] else matched(a[p], b[p]) for p in a.keys() & b.keys())
    return 2 * same / total if total else 1.0


# -- verdicts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """Why a child is not new: its twin (the agent it repeats) and how similar they are."""

    kind: Kind
    twin: str
    similarity: float
    why: str = ""  # the judge's words, when a judge decided

    @property
    def reason(self) -> str:
        """The rejection reason stored with the child; its first word is the kind."""
        if self.kind == "duplicate":
            return f"duplicate: same code as agent {self.twin} after normalising"
        text = f"near-duplicate: {self.similarity:.3f} similar to agent {self.twin}"
        return f"{text}, judged not new: {self.why}" if self.why else text


def rejection_kind(reason: str | None) -> Kind | None:
    """'duplicate' or 'near-duplicate' when a rejection reason says so, else None."""
    head = (reason or "").split(":", 1)[0]
    return next((k for k in KINDS if k == head), None)


def duplicate_counts(reasons: Iterable[str | None]) -> dict[Kind, int]:
    """Rejected children per kind of duplicate, from their rejection reasons."""
    counts: dict[Kind, int] = {k: 0 for k in KINDS}
    for r in reasons:
        kind = rejection_kind(r)
        if kind is not None:
            counts[kind] += 1
    return counts


def describe_counts(counts: Mapping[Kind, int]) -> str:
    """'3 (2 duplicate, 1 near-duplicate)', or '0'."""
    total = sum(counts.values())
    parts = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    return f"{total} ({parts})" if total else "0"


# -- the judge ------------------------------------------------------------------------------

JUDGE_SCHEMA = {
    "type": "object",
    "properties": {
        "explanation": {
            "type": "string",
            "description": "What the change does, in one or two sentences.",
        },
        "novel": {
            "type": "boolean",
            "description": "true if the change can make the program behave differently.",
        },
    },
    "required": ["explanation", "novel"],
    "additionalProperties": False,
}

JUDGE_SYSTEM = (
    "You review changes to programs that an evolutionary search scores. A change is novel "
    "when it can make the program behave differently: other logic, data structures, "
    "constants, parameters or prompt text. It is not novel when it only renames, reformats, "
    "reorders without effect, or edits comments and documentation."
)


def judge_prompt(existing: Mapping[str, bytes], proposed: Mapping[str, bytes], limit: int) -> str:
    """The user message: the unified diff from the existing agent to the proposed child."""
    lines: list[str] = []
    for path in sorted(set(existing) | set(proposed)):
        a = existing.get(path, b"").decode(errors="replace").splitlines()
        b = proposed.get(path, b"").decode(errors="replace").splitlines()
        lines += difflib.unified_diff(a, b, f"existing/{path}", f"proposed/{path}", lineterm="")
    diff = "\n".join(lines)
    if len(diff) > limit:
        diff = diff[:limit] + f"\n... [{len(diff) - limit} characters cut]"
    return (
        "An existing program and a proposed one differ by this diff:\n\n"
        f"```diff\n{diff}\n```\n\n"
        'Answer with JSON: {"explanation": "...", "novel": true or false}.'
    )


def parse_judgement(text: str) -> tuple[bool, str]:
    """(novel, explanation) from the judge's answer; ValueError when it is not such JSON."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"the judge's answer is not JSON: {e.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("novel"), bool):
        raise ValueError('the judge\'s answer has no boolean "novel"')
    return data["novel"], " ".join(str(data.get("explanation", "")).split())


# -- the run's index ------------------------------------------------------------------------


@dataclass(frozen=True)
class Nearest:
    """The agent most similar to a child, when the judge must decide."""

    twin: str
    similarity: float


class Novelty:
    """The agents of one run, normalised, and the checks of a new child against them.

    `check` and `add` are quick and pure of I/O: the loop calls them together, with no
    await between, so the index always holds every agent recorded before the child.
    `judge` calls the LLM (blocking: run it in a worker thread)."""

    def __init__(self, settings: NoveltySettings, judge: Chat | None = None) -> None:
        self.settings = settings
        self.judge_chat = judge if settings.judge_model else None
        self.keys: dict[str, str] = {}  # tree key -> the first agent with it
        # Only when compared: each agent's files as digests of their normalised text, the
        # tokens of each digest, and the matched tokens of pairs of digests already seen
        # (agents share most files: a child changes one, so most pairs are known or equal).
        self.trees: dict[str, dict[str, bytes]] = {}
        self.file_tokens: dict[bytes, Lines] = {}
        self.file_sizes: dict[bytes, int] = {}
        self._matched: dict[tuple[bytes, bytes], int] = {}
        self._cache: dict[tuple[str, bytes], str] = {}  # (path, sha256) -> normalised

    @property
    def enabled(self) -> bool:
        s = self.settings
        return s.duplicates or s.threshold is not None or self.judge_chat is not None

    @property
    def compares(self) -> bool:
        """Whether similarity is needed (a threshold or a judge), beyond exact duplicates."""
        return self.settings.threshold is not None or self.judge_chat is not None

    @property
    def lower_bound(self) -> float:
        """The similarity from which a child is not plainly new."""
        s = self.settings
        if self.judge_chat is not None:
            return s.judge_from
        return s.threshold if s.threshold is not None else 1.0

    def _normalise_file(self, path: str, data: bytes) -> str:
        key = (path, hashlib.sha256(data).digest())
        if key not in self._cache:
            self._cache[key] = normalise(path, data)
        return self._cache[key]

    def _normalise(self, files: Mapping[str, bytes]) -> dict[str, str]:
        return {path: self._normalise_file(path, data) for path, data in files.items()}

    def key(self, files: Mapping[str, bytes]) -> str | None:
        """The key stored with an agent at admission (Archive.add_agent's content_key):
        equal for exact duplicates. None when the check is off."""
        if not self.enabled:
            return None
        return f"{KEY_VERSION}:{tree_key(self._normalise(files))}"

    def rebuild(
        self,
        agent_ids: Iterable[str],
        stored: Mapping[str, str],
        files_of: Callable[[str], Mapping[str, bytes]],
    ) -> int:
        """Index a resumed run's agents: by the keys `stored` at their admission when only
        the exact check is on; by their files (`files_of`) otherwise, and for an agent
        without a current key. How many agents' files were read."""
        if not self.enabled:
            return 0
        read = 0
        for agent_id in agent_ids:
            version, _, key = stored.get(agent_id, "").partition(":")
            if version == KEY_VERSION and key and not self.compares:
                self.keys.setdefault(key, agent_id)
            else:
                self.add(agent_id, files_of(agent_id))
                read += 1
        return read

    def add(self, agent_id: str, files: Mapping[str, bytes]) -> None:
        """Index an agent of the run (every one, whatever its status)."""
        if not self.enabled:
            return
        normalised = self._normalise(files)
        self.keys.setdefault(tree_key(normalised), agent_id)
        if self.compares:
            self.trees[agent_id] = self._digests(normalised)

    def _digests(self, normalised: Mapping[str, str]) -> dict[str, bytes]:
        out = {}
        for path, text in normalised.items():
            digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
            if digest not in self.file_tokens:
                self.file_tokens[digest] = lines(text)
                self.file_sizes[digest] = size(self.file_tokens[digest])
            out[path] = digest
        return out

    def seen(self, files: Mapping[str, bytes]) -> bool:
        """Whether `check` would find these files an exact duplicate. Quick (only the files
        not seen before are normalised) and safe from an operator's worker thread: it reads
        the index and adds to a cache, each one dict operation."""
        if not (self.enabled and self.settings.duplicates):
            return False
        if isinstance(files, Edited):  # one file of a parent changed: only it is read
            return files.key(self._normalise_file) in self.keys
        return tree_key(self._normalise(files)) in self.keys

    def check(self, files: Mapping[str, bytes]) -> Verdict | Nearest | None:
        """A Verdict when the child is a duplicate (or over the threshold), Nearest when
        the judge must decide, None when it is new."""
        if not self.enabled:
            return None
        normalised = self._normalise(files)
        twin = self.keys.get(tree_key(normalised))
        if twin is not None and self.settings.duplicates:
            return Verdict("duplicate", twin, 1.0)
        if not self.compares:
            return None
        nearest = self.nearest(self._digests(normalised), self.lower_bound)
        if nearest is None:
            return None
        threshold = self.settings.threshold
        if threshold is not None and nearest.similarity >= threshold:
            return Verdict("near-duplicate", nearest.twin, nearest.similarity)
        return nearest if self.judge_chat is not None else None

    def nearest(self, child: Mapping[str, bytes], at_least: float) -> Nearest | None:
        """The most similar agent, if any is at least `at_least` similar (`similarity`,
        computed from the digests: equal files match whole, pairs are remembered, and an
        upper bound skips an agent before any difflib)."""
        sizes = self.file_sizes
        child_total = sum(sizes[d] for d in child.values())
        best: Nearest | None = None
        for agent_id, tree in self.trees.items():
            floor = max(at_least, best.similarity if best else 0.0)
            total = child_total + sum(sizes[d] for d in tree.values())
            common = child.keys() & tree.keys()
            bound = sum(min(sizes[child[p]], sizes[tree[p]]) for p in common)
            if total == 0 or 2 * bound / total < floor:
                continue
            ratio = 2 * sum(self._pair(child[p], tree[p]) for p in common) / total
            if ratio >= floor and (best is None or ratio > best.similarity):
                best = Nearest(agent_id, ratio)
        return best

    def _pair(self, a: bytes, b: bytes) -> int:
        if a == b:
            return self.file_sizes[a]
        key = (a, b) if a < b else (b, a)
        if key not in self._matched:
            self._matched[key] = matched(self.file_tokens[key[0]], self.file_tokens[key[1]])
        return self._matched[key]

    def judge(
        self,
        nearest: Nearest,
        twin_files: Mapping[str, bytes],
        files: Mapping[str, bytes],
        prompt_chars: int,
    ) -> Verdict | None:
        """Ask the judge model; a Verdict when it finds the child not new. Raises when the
        call fails or the answer is not the JSON asked for (the loop then evaluates)."""
        assert self.judge_chat is not None
        messages = [
            {"role": "system", "content": JUDGE_SYSTEM},
            {"role": "user", "content": judge_prompt(twin_files, files, prompt_chars)},
        ]
        answer = self.judge_chat.complete(
            messages, purpose="novelty_judge", agent_id=nearest.twin, schema=JUDGE_SCHEMA
        )
        novel, why = parse_judgement(answer)
        if novel:
            return None
        return Verdict("near-duplicate", nearest.twin, nearest.similarity, why[:200] or "-")

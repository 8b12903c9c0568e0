"""Mutators (operators): how a child is made from its parent(s).

A mutator is `(parent[s], context, llm[, sandbox]) -> child files | failure reason`. Each
operator is one module, registered by short name in `dgm.mutators.operators.OPERATORS`:

- `self_modify` (DGM, the default): pick a task the parent failed, have the LLM diagnose
  it into a structured proposal, then run the *parent agent itself* on its own code with
  that proposal as its problem statement; its edits are the child.
- `diff`: the LLM edits the parent's code with SEARCH/REPLACE blocks, applied strictly.

Mutators never write to the archive: they return a `Mutation` and the loop records it.
Everything random in them comes from `MutationContext.rng`, seeded by the loop.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from archive.info import ErrorKind


class Chat(Protocol):
    """One LLM chat call on the host, attributed to a purpose and an agent (the gateway)."""

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        purpose: str,
        agent_id: str | None = None,
        schema: Mapping[str, Any] | None = None,
    ) -> str:
        """The assistant's text for `messages`; raises on a failed call. With `schema` (a JSON
        schema in the strict subset hosted models accept) the text is asked to be JSON of it."""
        ...


@dataclass(frozen=True)
class EvalView:
    """What a mutator may know about one evaluation of the parent."""

    task_id: str
    resolved: bool
    error_kind: ErrorKind | None = None
    patch: str = ""
    trajectory: str = ""
    test_report: str = ""  # per-test results, or a problem evaluator's feedback
    score: float | None = None  # 1/0 for a task; a problem's primary score
    feedback: str = ""  # the evaluation's logs: a problem evaluator's feedback, or why it failed
    metrics: Mapping[str, float] = field(default_factory=dict)  # a problem evaluator's


@dataclass(frozen=True)
class Parent:
    """One parent as a mutator sees it: its id, its code and its evaluations."""

    agent_id: str
    files: Mapping[str, bytes]
    evaluations: Sequence[EvalView]


@dataclass
class MutationContext:
    """Everything a mutator gets: its parents (as many as its operator takes; the first is
    *the* parent, the one a child's lineage follows), the statements of the tasks (or of
    the problem) they were scored on, the LLM, and an rng."""

    parents: Sequence[Parent]
    problem_statements: Mapping[str, str]  # task (or problem) id -> its statement
    chat: Chat
    rng: random.Random
    iteration: int
    # Whether these files are already an agent of the run (the loop's exact-duplicate
    # check, dgm.novelty): an operator may avoid making one before spending a call on it.
    known: Callable[[Mapping[str, bytes]], bool] = field(default=lambda _files: False)

    @property
    def parent_id(self) -> str:
        return self.parents[0].agent_id

    @property
    def files(self) -> Mapping[str, bytes]:
        return self.parents[0].files

    @property
    def evaluations(self) -> Sequence[EvalView]:
        return self.parents[0].evaluations


@dataclass
class Mutation:
    """A child's files (None when the operator failed) and how it was made."""

    files: dict[str, bytes] | None
    origin: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None  # why it failed, when files is None


class Mutator(Protocol):
    """Makes one child from one parent. Runs in a worker thread; may block."""

    name: str

    def mutate(self, ctx: MutationContext) -> Mutation: ...

"""Which failure of the parent a mutation should address: DGM's rules (DGM_outer.py:124-147).

In DGM's order (each special case drawn with probability 0.25):
1. `empty_patch`: if at least 10 % of the parent's evaluations produced an empty patch;
2. `stochasticity`: the agent is stochastic, so make it try several times and pick the best;
3. `context_length`: if some evaluation hit the model's context limit;
4. otherwise `unresolved`: a random unresolved task, empty patches excluded (SWE-bench's
   `unresolved_ids`, which DGM draws from, hold only tasks with a non-empty patch).
The three special cases name no task: DGM shows its advice without a task log. None when
no special case was drawn and no unresolved task is left (DGM crashes there:
`random.choice([])`, DGM_outer.py:144-147).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from dgm.mutators import EvalView

EMPTY_KINDS = {"empty_patch"}
CONTEXT_KINDS = {"context_length"}

# DGM's advice for each case (prompts/self_improvement_prompt.py:122-172), in dgm's words.
FOCUS_TEXT = {
    "empty_patch": (
        "Some of the coding agent's attempts at GitHub issues ended with an empty patch: the agent "
        "is stochastic and does not always produce one. Handle the cases where it produces no "
        "patch, or a patch that changes only test files and not the source code; the simplest "
        "way is to have it try again."
    ),
    "stochasticity": (
        "The coding agent is stochastic: it may not produce the right patch for an issue on its "
        "first try. Take that into account, e.g. have it try several times and pick the best "
        "patch (checked by its own tests), and give it its earlier attempts as context."
    ),
    "context_length": (
        "While solving GitHub issues the coding agent failed because its input was too long for "
        "the model (the context window, typically about 200k tokens, was exceeded). Handle the "
        "input being too long where that error is raised and caught; otherwise leave the flow "
        "as it is."
    ),
    "unresolved": (
        "Here is the log of the coding agent trying to resolve a GitHub issue, and failing."
    ),
}


@dataclass(frozen=True)
class Focus:
    kind: str  # empty_patch | stochasticity | context_length | unresolved
    task_id: str | None


def is_empty(e: EvalView) -> bool:
    return e.error_kind in EMPTY_KINDS or not e.patch.strip()


def choose_focus(evaluations: Sequence[EvalView], rng: random.Random) -> Focus | None:
    evals = sorted(evaluations, key=lambda e: e.task_id)  # order must not depend on the archive
    if not evals:
        return None
    empty = [e for e in evals if not e.resolved and is_empty(e)]
    unresolved = [e for e in evals if not e.resolved and not is_empty(e)]
    if empty and len(empty) >= 0.1 * len(evals) and rng.random() < 0.25:
        return Focus("empty_patch", None)
    if rng.random() < 0.25:
        return Focus("stochasticity", None)
    context = [e for e in evals if e.error_kind in CONTEXT_KINDS]
    if context and rng.random() < 0.25:
        return Focus("context_length", None)
    if not unresolved:
        return None
    return Focus("unresolved", rng.choice(unresolved).task_id)

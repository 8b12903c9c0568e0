"""Which failure of the parent a mutation should address: DGM's rules.

On SWE-bench (`choose_focus`, DGM_outer.py:121-147), in DGM's order (each special case
drawn with probability 0.25):
1. `empty_patch`: if at least 10 % of the parent's evaluations produced an empty patch;
2. `stochasticity`: the agent is stochastic, so make it try several times and pick the best;
3. `context_length`: if some failed evaluation hit the model's context limit;
4. otherwise `unresolved`: a random unresolved task, empty patches excluded (SWE-bench's
   `unresolved_ids`, which DGM draws from, hold only tasks with a non-empty patch).
The three special cases name no task: DGM shows its advice without a task log. None when
no special case was drawn and no unresolved task is left (DGM crashes there:
`random.choice([])`, DGM_outer.py:144-147).

On polyglot (`choose_polyglot_focus`): a random task among the parent's failed ones (empty
or unresolved), else any of its tasks (DGM_outer.py:117-120, 147); the tasks are those of
the parent's selection score (DGM's `overall_performance`: a child's first stage, its
initial agent's whole benchmark). Then, for that task (prompts/self_improvement_prompt.py:
360-368), with probability 0.25 the stochasticity advice, else the empty-patch advice if its
patch was empty, else the task itself; each with the task's log.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from dgm.mutators import EvalView
from dgm.polyglot_run import polyglot_suite

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


# DGM's polyglot advice (prompts/self_improvement_prompt.py:75, 254-303), in dgm's words;
# each is followed by the task's log.
POLYGLOT_TEXT = {
    "empty_patch": (
        "Some of the coding agent's attempts ended with an empty patch: the agent is stochastic "
        "and does not always produce one. Handle the cases where it produces no patch, or one "
        "that changes only the tests and not the solution; the simplest way is to make its "
        "prompt see to it that it calls its edit tool. Analyse the log below to find why it "
        "made no edits."
    ),
    "stochasticity": (
        "The coding agent is stochastic: it may not produce the right solution on its first "
        "try. Take that into account, e.g. have it try several times and pick the best attempt "
        "by its test results, reflect more times, and give it its earlier attempts and their "
        "test results as context. The task's tests are not in the repository: the agent has to "
        "write its own, and they may miss cases the hidden tests check, so their quality "
        "matters. Analyse the log below to find how its testing and its repeated attempts "
        "could improve."
    ),
    "unresolved": (
        "Here is the log of the coding agent trying to solve a programming task, and failing. "
        "A task is in one programming language, and the agent must handle any of them (C++, "
        "Go, Java, JavaScript, Python and Rust)."
    ),
}
POLYGLOT_TEXT["resolved"] = POLYGLOT_TEXT["unresolved"]  # DGM's fallback task: the same prompt


def polyglot_rules(rules: str, suite: str) -> bool:
    """Whether the `focus` config's rules are the polyglot ones for this suite."""
    return rules == "polyglot" or (rules == "by_suite" and polyglot_suite(suite))


@dataclass(frozen=True)
class Focus:
    kind: str  # empty_patch | stochasticity | context_length | unresolved | resolved
    task_id: str | None
    polyglot: bool = False  # DGM's polyglot prompts: the task's log with each kind


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
    # DGM looks for the context error in the failed tasks' logs only (DGM_outer.py:137).
    context = [e for e in evals if not e.resolved and e.error_kind in CONTEXT_KINDS]
    if context and rng.random() < 0.25:
        return Focus("context_length", None)
    if not unresolved:
        return None
    return Focus("unresolved", rng.choice(unresolved).task_id)


def choose_polyglot_focus(
    evaluations: Sequence[EvalView], rng: random.Random, pool: Collection[str] | None = None
) -> Focus | None:
    """DGM's polyglot focus (module docstring); `pool`: the tasks of the parent's selection
    score (None: every evaluation). None when the parent has no evaluation there."""
    evals = sorted(
        (e for e in evaluations if pool is None or e.task_id in pool), key=lambda e: e.task_id
    )
    if not evals:
        return None
    failed = [e for e in evals if not e.resolved]
    chosen = rng.choice(failed or evals)
    if rng.random() < 0.25:
        return Focus("stochasticity", chosen.task_id, polyglot=True)
    if not chosen.resolved and is_empty(chosen):
        return Focus("empty_patch", chosen.task_id, polyglot=True)
    return Focus("resolved" if chosen.resolved else "unresolved", chosen.task_id, polyglot=True)

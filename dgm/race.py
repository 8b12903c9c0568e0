"""Racing: a search that spends task evaluations only where they can change its answer.

The run keeps one *incumbent*, the agent it would return now. Every child is made from the
incumbent and raced against it, one task at a time, in a task order fixed for the run: the
child runs the next task of the order, after its parent has run it (the parent runs it
first when it has not, so every comparison is on tasks both ran). On the tasks both ran,
only the discordant ones carry evidence: ``b`` tasks the child solved and its parent did
not, ``a`` the other way. With a uniform prior on the chance ``q`` that a discordant task
favours the child, the posterior is ``Beta(1 + b, 1 + a)`` and

    P(child better) = P(q > 1/2 | a, b)

(a Bayesian sign test, McNemar's with a prior). The child is

- *dropped* as soon as that probability is below ``error``: no more evaluations;
- *accepted* as soon as it is above ``1 - error``: it becomes the incumbent, and new
  children are made from it;
- dropped when it has run every task without either (not shown to be better).

Why it saves evaluations: most edits are harmful or break the agent (DGM and HGM report
most children below their parent); a child that fails where its parent succeeds is dropped
after a handful of tasks instead of a fixed stage, and the parent's results, shared by all
its children, are paid for once. Why it returns a good agent: an agent is returned only
after a test at level ``error`` said it beats the one before it, on the same tasks; the
answer never rests on one lucky stage score.

The state is a function of the archive: the incumbent is found by replaying the chain from
the seed (each accepted child of the incumbent, in creation order, takes over), so a
resumed run continues where it stopped. Children of an agent that is no longer the
incumbent are not evaluated further (their comparison is with an agent the run has left).

Everything here is a function of its arguments: the engine (dgm/loop.py, through
`dgm.loop.Policy`) and the simulator (benchmarks/perf/search_efficiency.py) run this code.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from dgm.config import RaceSettings
from dgm.hgm import Decision, Evaluate, Expand
from dgm.selectors import Candidate

Verdict = Literal["racing", "accepted", "dropped"]


@dataclass(frozen=True)
class Member:
    """What the race knows of one agent: its place in the tree and its task results."""

    agent_id: str
    parent_id: str | None
    results: Mapping[str, bool]  # task id -> resolved, for every task it has run


def p_better(a: int, b: int) -> float:
    """P(q > 1/2) for q ~ Beta(1 + b, 1 + a): the chance the child is the better one,
    given `b` tasks only it solved and `a` only its parent solved.

    For integer parameters it is a binomial tail (the Beta-binomial identity):
    P(Beta(1 + b, 1 + a) > 1/2) = P(Binomial(a + b + 1, 1/2) <= b), exactly."""
    n = a + b + 1
    return sum(math.comb(n, k) for k in range(b + 1)) / 2.0**n


def discordant(child: Member, parent: Member) -> tuple[int, int]:
    """(a, b) over the tasks both ran: a = parent only solved, b = child only solved."""
    a = b = 0
    for task, solved in child.results.items():
        other = parent.results.get(task)
        if other is None or other == solved:
            continue
        if solved:
            b += 1
        else:
            a += 1
    return a, b


def verdict(
    child: Member,
    parent: Member,
    n_tasks: int,
    error: float,
    ended: dict[str, Verdict] | None = None,
) -> Verdict:
    """Where the child's race with its parent stands (module doc). `ended`: a memo of the
    races that are over; an ended race never changes (the child is not evaluated again,
    and its parent had run each of its tasks before it), so it is computed once."""
    if ended is not None and child.agent_id in ended:
        return ended[child.agent_id]
    a, b = discordant(child, parent)
    p = p_better(a, b)
    out: Verdict = "racing"
    if p > 1.0 - error or (len(child.results) >= n_tasks and p >= 0.5):
        out = "accepted"
    elif p < error or len(child.results) >= n_tasks:
        out = "dropped"
    if ended is not None and out != "racing":
        ended[child.agent_id] = out
    return out


def incumbent(
    members: Sequence[Member], n_tasks: int, error: float, ended: dict[str, Verdict] | None = None
) -> Member:
    """The agent the run returns: from the seed, each accepted child (first in creation
    order) of the incumbent takes over, until the incumbent has none."""
    children: dict[str | None, list[Member]] = {}
    for m in members:
        children.setdefault(m.parent_id, []).append(m)
    ids = {m.agent_id for m in members}
    current = next(m for m in members if m.parent_id not in ids)  # the seed
    while True:
        nxt = next(
            (
                c
                for c in children.get(current.agent_id, [])
                if verdict(c, current, n_tasks, error, ended) == "accepted"
            ),
            None,
        )
        if nxt is None:
            return current
        current = nxt


def task_order(tasks: Sequence[str], seed: int) -> tuple[str, ...]:
    """The run's task order: one seeded shuffle, the same for every agent."""
    order = list(tasks)
    random.Random(f"{seed}:race-order").shuffle(order)
    return tuple(order)


def next_pair_task(
    child: Member, parent: Member, order: Sequence[str], open_tasks: Mapping[str, Collection[str]]
) -> Evaluate | None:
    """The child's next task in the order: the parent's run of it first, if missing.
    None while one of the child's tasks is in flight (its verdict may end the race), or
    when it has none left."""
    mine = open_tasks.get(child.agent_id, ())
    if len(child.results) + len(mine) < len(order):
        return None  # a task of the child is in flight
    for task in order:
        if task in child.results:
            continue
        if task in parent.results:
            return Evaluate(child.agent_id, task)
        if task in open_tasks.get(parent.agent_id, ()):
            return Evaluate(parent.agent_id, task)
        continue  # the parent's run of it is in flight
    return None


def decide(
    members: Sequence[Member],
    open_tasks: Mapping[str, Collection[str]],
    order: Sequence[str],
    error: float,
    may_expand: bool = True,
    ended: dict[str, Verdict] | None = None,
) -> Decision | None:
    """The next job of a free worker: race a child of the incumbent, else make one.
    `open_tasks`: each agent's tasks neither run nor in flight (absent: none)."""
    if not members:
        return None
    best = incumbent(members, len(order), error, ended)
    for child in members:
        if child.parent_id != best.agent_id:
            continue
        if verdict(child, best, len(order), error, ended) != "racing":
            continue
        job = next_pair_task(child, best, order, open_tasks)
        if job is not None:
            return job
    if may_expand:
        return Expand(best.agent_id)
    return None


# ---- the Engine's seam (dgm.loop.Policy) -------------------------------------------------
NOT_MEMBERS = ("rejected", "failed")  # children that were never evaluated


def members_of(
    candidates: Sequence[Candidate], results: Mapping[str, Mapping[str, bool]]
) -> list[Member]:
    return [
        Member(c.agent_id, c.parent_id, results.get(c.agent_id, {}))
        for c in candidates
        if c.status not in NOT_MEMBERS
    ]


class Race:
    """The racing policy of one run (`race` settings). No random draw besides the task
    order, which is a function of the run's seed: a resume makes the same decisions."""

    name = "race"

    def __init__(self, settings: RaceSettings, seed: int, tasks: Sequence[str]) -> None:
        self.settings = settings
        self.order = task_order(tasks, seed)
        self.ended: dict[str, Verdict] = {}  # a memo (see `verdict`), rebuilt on resume

    def decide(
        self,
        candidates: Sequence[Candidate],
        open_tasks: Mapping[str, tuple[str, ...]],
        results: Mapping[str, Mapping[str, bool]],
        dispatched: int,
        pending_expansions: int,
        may_expand: bool,
        step: int,
    ) -> Decision | None:
        members = members_of(candidates, results)
        job = decide(members, open_tasks, self.order, self.settings.error, may_expand, self.ended)
        if isinstance(job, Expand) and pending_expansions > 0:
            return None  # one child in the making at a time: its race may end the next one's
        return job

    def final(
        self, candidates: Sequence[Candidate], results: Mapping[str, Mapping[str, bool]]
    ) -> dict[str, object]:
        """The agent the run returns, with its evidence (the `race_final` event)."""
        members = members_of(candidates, results)
        if not members:
            return {"agent": None}
        best = incumbent(members, len(self.order), self.settings.error, self.ended)
        solved = sum(best.results.values())
        return {"agent": best.agent_id, "resolved": solved, "evaluated": len(best.results)}

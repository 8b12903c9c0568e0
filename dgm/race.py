"""Racing: a search that spends task evaluations only where they can change its answer.

The run keeps one *incumbent*, the agent it would return now. Every child is made from the
incumbent and raced against it, one task at a time, in a task order of its own (the run's
seeded order shuffled by the child's id): the child runs the next task of its order, after
its parent has run it (the parent runs it first when it has not, so every comparison is on
tasks both ran). One order for every child made every race open on the same few tasks,
where the parent's one recorded outcome (a hard task it happened to solve, an easy one it
happened to fail) decided all its children's first steps the same way. On the tasks both ran,
only the discordant ones carry evidence: ``b`` tasks the child solved and its parent did
not, ``a`` the other way. With a uniform prior on the chance ``q`` that a discordant task
favours the child, the posterior is ``Beta(1 + b, 1 + a)`` and

    P(child better) = P(q > 1/2 | a, b)

(a Bayesian sign test, McNemar's with a prior). The child is

- *dropped* as soon as that probability is below 1/2 (a fresh child is worth 1/2), unless
  it has passed the screen;
- *screened* once, at some point of its own task order, the probability was above
  ``1 - error``: from then on it is not dropped early, it runs every task;
- at the end of its tasks, *accepted* (it becomes the incumbent, and new children are made
  from it) if it is ahead over the tasks both ran (``b > a``: more solved only by it than only by its parent), else dropped.

Why it saves evaluations: most edits are harmful or break the agent (DGM and HGM report
most children below their parent); a child that fails where its parent succeeds is dropped
after a handful of tasks instead of a fixed stage, and the parent's results, shared by all
its children, are paid for once. Why a screen and not acceptance at ``1 - error``: on a
few tasks at a low skill a discordant task is close to a coin, and a harmful child reaches
that bound about a quarter as often as a helpful one while harmful edits are several times
as frequent (docs/engine.md, "Screening"); the chain, which never goes back, then loses
what it had gained. Judging a screened child on every task both ran uses all the evidence
the stage holds before the run commits to it.

The state is a function of the archive: the incumbent is found by replaying the chain from
the seed (each accepted child of the incumbent, in creation order, takes over), so a
resumed run continues where it stopped. Children of an agent that is no longer the
incumbent are not evaluated further (their comparison is with an agent the run has left).

Everything here is a function of its arguments: the engine (dgm/loop.py, through
`dgm.loop.Policy`) and the simulator (benchmarks/perf/search_efficiency.py) run this code.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from dgm.config import RaceSettings
from dgm.hgm import Decision, Evaluate, Expand, Situation
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


@dataclass
class Memo:
    """What a run has settled, so a decision need not weigh it again; a cache of functions
    of the members, rebuilt on resume. An ended race never changes (the child is not
    evaluated again, and its parent had run each of its tasks before it); an agent's
    successor on the chain is fixed once a child of it is accepted with no earlier child
    still racing; members only ever join at the end (`members_of`), so their children
    are indexed once."""

    ended: dict[str, Verdict] = field(default_factory=dict)
    successor: dict[str, str] = field(default_factory=dict)
    position: dict[str, int] = field(default_factory=dict)
    racing: dict[str | None, list[int]] = field(default_factory=dict)  # kids not yet ended
    accepted: dict[str, list[int]] = field(default_factory=dict)  # accepted kids

    def index(self, members: Sequence[Member]) -> None:
        """Index the members that joined since the last call (all, if the list changed)."""
        seen = len(self.position)
        if seen > len(members) or (seen and members[seen - 1].agent_id not in self.position):
            self.position.clear()
            self.racing.clear()
            self.accepted.clear()
            seen = 0
        for i in range(seen, len(members)):
            self.position[members[i].agent_id] = i
            self.racing.setdefault(members[i].parent_id, []).append(i)


def screened(child: Member, parent: Member, order: Sequence[str], error: float) -> bool:
    """Whether the child passed the screen: at some point of its own task order (the order
    it runs its tasks in) it stood at P(better) > 1 - error on the tasks both had run."""
    a = b = 0
    for task in order:
        solved, other = child.results.get(task), parent.results.get(task)
        if solved is None or other is None or solved == other:
            continue
        a, b = (a, b + 1) if solved else (a + 1, b)
        if p_better(a, b) > 1.0 - error:
            return True
    return False


def verdict(
    child: Member,
    parent: Member,
    order: Sequence[str],
    error: float,
    memo: Memo | None = None,
) -> Verdict:
    """Where the child's race with its parent stands (module doc). `order`: the run's
    task order (the child's own is derived from it)."""
    if memo is not None and child.agent_id in memo.ended:
        return memo.ended[child.agent_id]
    a, b = discordant(child, parent)
    done = len(child.results) >= len(order)
    out: Verdict = "racing"
    if screened(child, parent, child_order(tuple(order), child.agent_id), error):
        if done:  # screened: judged on every task, ahead or not
            out = "accepted" if b > a else "dropped"
    elif p_better(a, b) < 0.5 or (done and b <= a):
        out = "dropped"  # a fresh child (P = 1/2 before any result) is the better bet
    elif done:
        out = "accepted"  # no task left to ask and ahead on what it ran
    if memo is not None and out != "racing":
        memo.ended[child.agent_id] = out
    return out


def incumbent(
    members: Sequence[Member], order: Sequence[str], error: float, memo: Memo | None = None
) -> Member:
    """The agent the run returns: from the seed, each accepted child (first in creation
    order) of the incumbent takes over, until the incumbent has none."""
    return chain(members, order, error, memo)[0]


def chain(
    members: Sequence[Member], order: Sequence[str], error: float, memo: Memo | None = None
) -> tuple[Member, list[Member]]:
    """The incumbent (see `incumbent`) and its children still racing. `members` in
    creation order, the seed first."""
    memo = memo if memo is not None else Memo()
    memo.index(members)
    current = members[0]
    while True:
        if current.agent_id in memo.successor:
            current = members[memo.position[memo.successor[current.agent_id]]]
            continue
        here = current.agent_id
        still = []
        for i in memo.racing.get(here, []):
            v = verdict(members[i], current, order, error, memo)
            if v == "racing":
                still.append(i)
            elif v == "accepted":
                memo.accepted.setdefault(here, []).append(i)
        memo.racing[here] = still
        accepted = sorted(memo.accepted.get(here, []))
        if not accepted:
            return current, [members[i] for i in still]
        if all(i > accepted[0] for i in still):
            memo.successor[here] = members[accepted[0]].agent_id
        current = members[accepted[0]]


def task_order(tasks: Sequence[str], seed: int) -> tuple[str, ...]:
    """The run's task order: one seeded shuffle of the tasks."""
    order = list(tasks)
    random.Random(f"{seed}:race-order").shuffle(order)
    return tuple(order)


@functools.lru_cache(maxsize=4096)
def child_order(order: tuple[str, ...], agent_id: str) -> tuple[str, ...]:
    """The order a child runs its tasks in: the run's order shuffled by the child's id.
    Each child its own order, so that the parent's luck on a few tasks (a hard task it
    happened to solve) does not decide every child's race the same way, and the parent's
    shared results spread over all the tasks."""
    mine = list(order)
    random.Random(f"{agent_id}:race-child-order").shuffle(mine)
    return tuple(mine)


def next_pair_task(
    child: Member, parent: Member, order: Sequence[str], open_tasks: Mapping[str, Collection[str]]
) -> Evaluate | None:
    """The child's next task in the order: the parent's run of it first, if missing.
    None while one of the child's tasks is in flight (its verdict may end the race), or
    when it has none left."""
    mine = open_tasks.get(child.agent_id, ())
    if len(child.results) + len(mine) < len(order):
        return None  # a task of the child is in flight
    for task in child_order(tuple(order), child.agent_id):
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
    memo: Memo | None = None,
) -> Decision | None:
    """The next job of a free worker: race a child of the incumbent, else make one.
    `open_tasks`: each agent's tasks neither run nor in flight (absent: none)."""
    if not members:
        return None
    best, racing = chain(members, order, error, memo)
    for child in racing:
        job = next_pair_task(child, best, order, open_tasks)
        if job is not None:
            return job
    if may_expand:
        return Expand(best.agent_id)
    return None


# ---- the Engine's seam (dgm.loop.Policy) -------------------------------------------------
NOT_MEMBERS = ("rejected", "failed")  # children never evaluated (refused at admission)


def members_of(
    candidates: Sequence[Candidate], results: Mapping[str, Mapping[str, bool]]
) -> list[Member]:
    """The run's agents as the race sees them, in creation order. An agent with results is
    a member whatever its status (an agent the engine finalises later stays one), so
    members only ever join at the end of the list."""
    return [
        Member(c.agent_id, c.parent_id, results.get(c.agent_id, {}))
        for c in candidates
        if c.status not in NOT_MEMBERS or results.get(c.agent_id)
    ]


class Race:
    """The racing policy of one run (`race` settings). No random draw besides the task
    orders, functions of the run's seed and the child's id: a resume makes the same
    decisions."""

    name = "race"

    def __init__(self, settings: RaceSettings, seed: int, tasks: Sequence[str]) -> None:
        self.settings = settings
        self.order = task_order(tasks, seed)
        self.memo = Memo()

    def decide(self, now: Situation) -> Decision | None:
        members = members_of(now.candidates, now.results)
        error, memo = self.settings.error, self.memo
        job = decide(members, now.open_tasks, self.order, error, now.may_expand, memo)
        if isinstance(job, Expand) and now.pending_expansions > 0:
            return None  # one child in the making at a time: its race may end the next one's
        return job

    def final(
        self, candidates: Sequence[Candidate], results: Mapping[str, Mapping[str, bool]]
    ) -> dict[str, object]:
        """The agent the run returns, with its evidence (the `race_final` event)."""
        members = members_of(candidates, results)
        if not members:
            return {"agent": None}
        best = incumbent(members, self.order, self.settings.error, self.memo)
        solved = sum(best.results.values())
        return {"agent": best.agent_id, "resolved": solved, "evaluated": len(best.results)}

"""Parent selectors: pure functions `(candidates, rng, k) -> [agent ids]`.

A selector sees every agent of a run with its statistics (the archive's `candidate_stats`)
and picks `k` parents (with replacement, except `best`). It does no I/O, so it is trivial to
test against hand-computed probabilities and to simulate at scale
(`benchmarks/perf/selection_sim.py`).

Only *eligible* agents are ever picked: evaluated and admitted (status ``evaluated``) with a
score. Other agents still count where a selector pools statistics over a subtree
(clade-Thompson), because their evaluations are real evidence about their clade.

The selectors:

- ``score_child_prop`` (DGM's default): weight ``sigmoid(10 (score - 0.5)) / (1 + children)``,
  where the loop counts only children that are archive members, as DGM does
  (`member_children`).
- ``score_prop`` (DGM): weight ``sigmoid(10 (score - 0.5))``; DGM applies the same sigmoid
  here, so it is kept for comparability.
- ``best``: the ``k`` highest scores, ties broken at random. (DGM's released ``best`` sorts
  ascending and so picks the *worst*; this one really picks the best.)
- ``random``: uniform over eligible agents.
- ``newest`` (STOP): the newest eligible agent, so the run is a linear chain of improvers.
- ``clade_thompson`` (HGM): each node's clade is the node and all its descendants; its
  evidence is the clade's pooled resolved / evaluated counts; each draw samples
  ``Beta(1 + resolved, 1 + failed)`` per eligible node and picks the largest sample.

Problem runs: an agent's score is a problem's fitness, any float (higher is better). The
loop hands selectors `rank_fitness(candidates)` instead: each eligible agent's score becomes
its rank among the run's eligible agents scaled to [0, 1] (the worst 0, the best 1, ties
share their mean rank, a lone agent 1). Ranks, not min-max, so that one terrible (or one
outstanding) program does not squash every other score together. The counts stay: for a
problem, `n_resolved` counts valid evaluations.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from archive.info import AgentStatus


class Evidence(Protocol):
    """An agent's own task results and its place in the tree (what clade pooling needs)."""

    @property
    def agent_id(self) -> str: ...
    @property
    def parent_id(self) -> str | None: ...
    @property
    def n_resolved(self) -> int: ...
    @property
    def n_evaluated(self) -> int: ...


class Candidate(Evidence, Protocol):
    """What a selector needs to know about one agent (the archive's CandidateStats): its
    evidence, and its status, score and children. Read-only, as the archive hands them out."""

    @property
    def status(self) -> AgentStatus: ...
    @property
    def score(self) -> float | None: ...
    @property
    def n_children(self) -> int: ...


Selector = Callable[[Sequence[Candidate], random.Random, int], list[str]]

ELIGIBLE_STATUS: AgentStatus = "evaluated"


def eligible(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Agents a selector may pick: evaluated, admitted, with a score."""
    return [c for c in candidates if c.status == ELIGIBLE_STATUS and c.score is not None]


def sigmoid_score(score: float) -> float:
    """DGM's squashing of a score in [0, 1]: steep around 0.5."""
    return 1.0 / (1.0 + math.exp(-10.0 * (score - 0.5)))


def score_child_prop_weights(pool: Sequence[Candidate]) -> list[float]:
    return [sigmoid_score(c.score) / (1 + c.n_children) for c in pool]  # type: ignore[arg-type]


def score_prop_weights(pool: Sequence[Candidate]) -> list[float]:
    return [sigmoid_score(c.score) for c in pool]  # type: ignore[arg-type]


def probabilities(weights: Sequence[float]) -> list[float]:
    total = sum(weights)
    return [w / total for w in weights]


def _weighted(weigh: Callable[[Sequence[Candidate]], list[float]]) -> Selector:
    def select(candidates: Sequence[Candidate], rng: random.Random, k: int) -> list[str]:
        pool = eligible(candidates)
        if not pool or k <= 0:
            return []
        return [c.agent_id for c in rng.choices(pool, weights=weigh(pool), k=k)]

    return select


score_child_prop = _weighted(score_child_prop_weights)
score_prop = _weighted(score_prop_weights)


def best(candidates: Sequence[Candidate], rng: random.Random, k: int) -> list[str]:
    """The k best agents (cycling through them again if k exceeds the pool)."""
    pool = eligible(candidates)
    if not pool or k <= 0:
        return []
    shuffled = list(pool)
    rng.shuffle(shuffled)  # ties are broken at random, reproducibly
    ranked = sorted(shuffled, key=lambda c: c.score, reverse=True)  # type: ignore[arg-type,return-value]
    return [ranked[i % len(ranked)].agent_id for i in range(k)]


def newest(candidates: Sequence[Candidate], rng: random.Random, k: int) -> list[str]:
    """STOP's: the newest eligible agent, a linear chain (run_improver.py:191-198: the
    improver that continues is the last one accepted)."""
    pool = eligible(candidates)
    return [pool[-1].agent_id] * k if pool and k > 0 else []


def uniform(candidates: Sequence[Candidate], rng: random.Random, k: int) -> list[str]:
    pool = eligible(candidates)
    if not pool or k <= 0:
        return []
    return [c.agent_id for c in rng.choices(pool, k=k)]


def clade_counts(candidates: Sequence[Evidence]) -> dict[str, tuple[int, int]]:
    """(resolved, evaluated) pooled over each node's clade (itself and all descendants)."""
    children: dict[str | None, list[str]] = {}
    own: dict[str, tuple[int, int]] = {}
    for c in candidates:
        children.setdefault(c.parent_id, []).append(c.agent_id)
        own[c.agent_id] = (c.n_resolved, c.n_evaluated)
    pooled: dict[str, tuple[int, int]] = {}
    # Iterative post-order so deep lineages cannot hit the recursion limit.
    roots = [c.agent_id for c in candidates if c.parent_id not in own]
    for root in roots:
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                s, n = own[node]
                for child in children.get(node, []):
                    cs, cn = pooled[child]
                    s, n = s + cs, n + cn
                pooled[node] = (s, n)
            else:
                stack.append((node, True))
                stack.extend((child, False) for child in children.get(node, []))
    return pooled


def clade_thompson(candidates: Sequence[Candidate], rng: random.Random, k: int) -> list[str]:
    pool = eligible(candidates)
    if not pool or k <= 0:
        return []
    pooled = clade_counts(candidates)
    picks = []
    for _ in range(k):
        draws = []
        for c in pool:
            s, n = pooled[c.agent_id]
            draws.append((rng.betavariate(1 + s, 1 + n - s), c.agent_id))
        picks.append(max(draws)[1])
    return picks


@dataclass(frozen=True)
class Ranked:
    """A candidate with its score replaced by its normalised fitness (see rank_fitness)."""

    agent_id: str
    parent_id: str | None
    status: AgentStatus
    score: float | None
    n_children: int
    n_resolved: int
    n_evaluated: int


def ranks(scores: Sequence[float]) -> list[float]:
    """Each score's rank in [0, 1]: the worst 0, the best 1, ties share their mean rank, a
    lone score 1 (the rule of rank_fitness; the UI colours a problem run's tree with it)."""
    order = sorted(range(len(scores)), key=scores.__getitem__)
    out = [0.0] * len(scores)
    top = len(order) - 1
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        rank = 1.0 if top == 0 else (start + end) / 2 / top
        for i in order[start : end + 1]:
            out[i] = rank
        start = end + 1
    return out


def member_children(candidates: Sequence[Candidate]) -> list[Candidate]:
    """The candidates with `n_children` counting only the children that are archive
    members (admitted and evaluated), as DGM counts them (DGM_outer.py:58-72): a rejected,
    unchanged or still unevaluated child does not make its parent less likely to be drawn."""
    counts = Counter(c.parent_id for c in candidates if c.status == ELIGIBLE_STATUS)
    return [
        Ranked(
            c.agent_id,
            c.parent_id,
            c.status,
            c.score,
            counts[c.agent_id],
            c.n_resolved,
            c.n_evaluated,
        )
        for c in candidates
    ]


def with_scores(candidates: Sequence[Candidate], scores: Mapping[str, float]) -> list[Candidate]:
    """The candidates with the score `scores` gives them (the others' unchanged): selection
    on another score than the archive's, e.g. the first stage's (DGM's polyglot runs)."""
    return [
        Ranked(
            c.agent_id,
            c.parent_id,
            c.status,
            scores.get(c.agent_id, c.score),
            c.n_children,
            c.n_resolved,
            c.n_evaluated,
        )
        for c in candidates
    ]


def rank_fitness(candidates: Sequence[Candidate]) -> list[Candidate]:
    """The candidates with each eligible score replaced by its rank in [0, 1] (module doc)."""
    ranked = [
        Ranked(
            c.agent_id, c.parent_id, c.status, c.score, c.n_children, c.n_resolved, c.n_evaluated
        )
        for c in candidates
    ]
    pool = [
        (i, c.score)
        for i, c in enumerate(ranked)
        if c.status == ELIGIBLE_STATUS and c.score is not None
    ]
    for (i, _), rank in zip(pool, ranks([s for _, s in pool]), strict=True):
        ranked[i] = replace(ranked[i], score=rank)
    return list(ranked)


SELECTORS: dict[str, Selector] = {
    "score_child_prop": score_child_prop,
    "score_prop": score_prop,
    "best": best,
    "random": uniform,
    "clade_thompson": clade_thompson,
    "newest": newest,
}


# -- islands (FunSearch, OpenEvolve) -----------------------------------------------------
#
# The population is split into ISLANDS sub-populations that evolve apart; every
# RESET_PERIOD agents the weaker half is wiped and each wiped island restarts from the best
# agent of a surviving one (FunSearch's `reset_islands`). The selector keeps no state:
# island membership is replayed from the archive on every call, by these rules.
#
# - Schedule: the parent of the child that will be the archive's n-th agent (0-based,
#   creation order, every status) is drawn from island n mod ISLANDS. A call for k parents
#   serves the children n = len(candidates) .. len(candidates) + k - 1.
# - Membership: a root (no parent in the archive, e.g. the seed) founds every island. The
#   n-th agent joins island n mod ISLANDS when its parent is a member of it (the schedule
#   was followed); otherwise (parallel workers, a resume with another selector) it joins
#   the lowest-numbered island its parent is still in, or none if every island of its
#   parent was wiped since (a dead lineage, as in FunSearch).
# - Reset: before the agent at each multiple b of RESET_PERIOD (b > 0) is placed (and so
#   before its parent is picked), islands are ranked by the best score among their
#   eligible members (none ranks lowest; ties: the higher number is weaker) and the
#   ISLANDS // 2 weakest are wiped: the i-th weakest restarts with the best agent of the
#   i-th strongest as its only member. Scores are the ones the archive holds now (higher
#   is better, as for every selector), so the replay is a function of the candidates.
# - Sampling within an island: by rank, its r-th best eligible member weighing 1/r, so any
#   score scale works (float problem scores, resolved fractions). An island with no
#   eligible member (early in a run) falls back to the roots.

ISLANDS = 4
RESET_PERIOD = 25


def island_members(
    candidates: Sequence[Candidate], n_islands: int = ISLANDS, period: int = RESET_PERIOD
) -> list[list[Candidate]]:
    """The current members of each island, by the rules above, in creation order."""
    index = {c.agent_id: n for n, c in enumerate(candidates)}
    # Membership as (island, era) pairs: wiping island i starts a new era of it, which
    # drops every earlier member at once without visiting them.
    era = [0] * n_islands
    best: list[tuple[float, int] | None] = [None] * n_islands  # (score, agent index)
    joined: list[set[tuple[int, int]]] = []
    for n in range(len(candidates) + 1):
        if n and period > 0 and n % period == 0:
            _reset(era, best, joined)  # also when the next child is the one at b
        if n == len(candidates):
            break
        c = candidates[n]
        parent = index.get(c.parent_id) if c.parent_id is not None else None
        if parent is None or parent >= n:
            now = list(range(n_islands))  # a root founds every island
        else:
            current = sorted(i for i, e in joined[parent] if e == era[i])
            target = n % n_islands
            now = [target] if target in current else current[:1]
        joined.append({(i, era[i]) for i in now})
        if c.status == ELIGIBLE_STATUS and c.score is not None:
            for i in now:
                if best[i] is None or c.score > best[i][0]:  # type: ignore[index]
                    best[i] = (c.score, n)
    return [
        [candidates[n] for n, pairs in enumerate(joined) if (i, era[i]) in pairs]
        for i in range(n_islands)
    ]


def _reset(
    era: list[int], best: list[tuple[float, int] | None], joined: list[set[tuple[int, int]]]
) -> None:
    """Wipe the weaker half of the islands; each restarts from a survivor's best agent."""
    n_islands = len(era)
    # Weakest first: no eligible member, then by best score; ties: the higher number.
    ranked = sorted(
        range(n_islands),
        key=lambda i: (best[i] is not None, best[i][0] if best[i] else 0.0, -i),  # type: ignore[index]
    )
    weak, strong = ranked[: n_islands // 2], ranked[n_islands // 2 :][::-1]
    for wiped, survivor in zip(weak, strong, strict=False):
        founder = best[survivor]
        if founder is None:
            continue  # no survivor has an eligible agent yet: nothing to restart from
        era[wiped] += 1
        joined[founder[1]].add((wiped, era[wiped]))
        best[wiped] = founder


def _by_rank(pool: Sequence[Candidate], rng: random.Random) -> Candidate:
    ranked = sorted(pool, key=lambda c: c.score, reverse=True)  # type: ignore[arg-type,return-value]
    return rng.choices(ranked, weights=[1 / r for r in range(1, len(ranked) + 1)], k=1)[0]


def islands(candidates: Sequence[Candidate], rng: random.Random, k: int) -> list[str]:
    """Parents drawn island by island (see the rules above this function)."""
    if not eligible(candidates) or k <= 0:
        return []
    members = island_members(candidates)
    ids = {c.agent_id for c in candidates}
    roots = eligible([c for c in candidates if c.parent_id not in ids])
    picks = []
    for j in range(k):
        pool = eligible(members[(len(candidates) + j) % ISLANDS]) or roots or eligible(candidates)
        picks.append(_by_rank(pool, rng).agent_id)
    return picks


SELECTORS["islands"] = islands

"""Parent selectors: pure functions `(candidates, rng, k) -> [agent ids]`.

A selector sees every agent of a run with its statistics (the archive's `candidate_stats`)
and picks `k` parents (with replacement, except `best`). It does no I/O, so it is trivial to
test against hand-computed probabilities and to simulate at scale
(`benchmarks/perf/selection_sim.py`).

Only *eligible* agents are ever picked: evaluated and admitted (status ``evaluated``) with a
score. Other agents still count where a selector pools statistics over a subtree
(clade-Thompson), because their evaluations are real evidence about their clade.

The selectors:

- ``score_child_prop`` (DGM's default): weight ``sigmoid(10 (score - 0.5)) / (1 + children)``.
- ``score_prop`` (DGM): weight ``sigmoid(10 (score - 0.5))``; DGM applies the same sigmoid
  here, so it is kept for comparability.
- ``best``: the ``k`` highest scores, ties broken at random. (DGM's released ``best`` sorts
  ascending and so picks the *worst*; this one really picks the best.)
- ``random``: uniform over eligible agents.
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from archive.info import AgentStatus


class Candidate(Protocol):
    """What a selector needs to know about one agent (the archive's CandidateStats).
    Read-only, as the archive hands them out."""

    @property
    def agent_id(self) -> str: ...
    @property
    def parent_id(self) -> str | None: ...
    @property
    def status(self) -> AgentStatus: ...
    @property
    def score(self) -> float | None: ...
    @property
    def n_children(self) -> int: ...
    @property
    def n_resolved(self) -> int: ...
    @property
    def n_evaluated(self) -> int: ...


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


def uniform(candidates: Sequence[Candidate], rng: random.Random, k: int) -> list[str]:
    pool = eligible(candidates)
    if not pool or k <= 0:
        return []
    return [c.agent_id for c in rng.choices(pool, k=k)]


def clade_counts(candidates: Sequence[Candidate]) -> dict[str, tuple[int, int]]:
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


def rank_fitness(candidates: Sequence[Candidate]) -> list[Candidate]:
    """The candidates with each eligible score replaced by its rank in [0, 1] (module doc)."""
    ranked = [
        Ranked(
            c.agent_id, c.parent_id, c.status, c.score, c.n_children, c.n_resolved, c.n_evaluated
        )
        for c in candidates
    ]
    pool = sorted(
        (c.score, i)
        for i, c in enumerate(ranked)
        if c.status == ELIGIBLE_STATUS and c.score is not None
    )
    top = len(pool) - 1
    start = 0
    while start < len(pool):
        end = start
        while end + 1 < len(pool) and pool[end + 1][0] == pool[start][0]:
            end += 1
        fitness = 1.0 if top == 0 else (start + end) / 2 / top
        for _, i in pool[start : end + 1]:
            ranked[i] = replace(ranked[i], score=fitness)
        start = end + 1
    return list(ranked)


SELECTORS: dict[str, Selector] = {
    "score_child_prop": score_child_prop,
    "score_prop": score_prop,
    "best": best,
    "random": uniform,
    "clade_thompson": clade_thompson,
}

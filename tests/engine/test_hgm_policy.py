"""HGM's scheduler (dgm/hgm.py) as pure functions, against hand-computed values.

Thompson draws are checked by replaying them: the policy's draw for a pool is
``Beta(1 + s, 1 + n - s)`` per agent from the Generator it is given, so the same seed
and the counts computed here by hand must pick the same agent.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pytest

from archive.info import AgentStatus
from dgm import hgm
from dgm.config import HGMSettings
from dgm.hgm import Evaluate, Expand, Node

ALL = ("a", "b", "c", "d")


def node(agent: str, parent: str | None, s: int, n: int, open_tasks: tuple[str, ...] = ALL) -> Node:
    return Node(agent, parent, s, n, open_tasks)


def test_the_expansion_rule_matches_hgm_line_413() -> None:
    # N ** 0.6 >= (agents - 1) + pending expansions
    assert hgm.wants_expansion(0, 1, 0, 0.6)  # 0 >= 0: a fresh tree grows first
    assert not hgm.wants_expansion(0, 2, 0, 0.6)
    assert hgm.wants_expansion(4, 3, 0, 0.6)  # 4 ** 0.6 = 2.297 >= 2
    assert not hgm.wants_expansion(3, 3, 0, 0.6)  # 3 ** 0.6 = 1.933 < 2
    assert not hgm.wants_expansion(4, 3, 1, 0.6)  # a pending expansion counts as a node
    assert hgm.wants_expansion(100, 16, 0, 0.6)  # 100 ** 0.6 = 15.85 >= 15
    assert not hgm.wants_expansion(100, 17, 0, 0.6)
    assert hgm.wants_expansion(100, 11, 0, 0.5)  # 10 >= 10


# A tree: root (2/10 own) -> x (0/4) -> y (3/4); root -> z (1/2).
TREE = [
    node("root", None, 2, 10),
    node("x", "root", 0, 4),
    node("y", "x", 3, 4),
    node("z", "root", 1, 2),
]


def test_expansion_draws_over_pooled_clades_among_agents_with_a_success() -> None:
    # Eligible: root, y, z (x has no success of its own). Pooled counts by hand:
    # root: 2+0+3+1 = 6 of 10+4+4+2 = 20; y: 3/4; z: 1/2.
    s = np.array([6.0, 3.0, 1.0])
    n = np.array([20.0, 4.0, 2.0])
    for seed in range(200):
        expected = ["root", "y", "z"][
            int(np.argmax(np.random.default_rng(seed).beta(1 + s, 1 + n - s)))
        ]
        assert hgm.expand_parent(TREE, np.random.default_rng(seed)) == expected


def test_pooling_does_not_inflate_counts_as_the_released_tree_py_does() -> None:
    # HGM's tree.py appends descendants' results to the ancestor's own list on every
    # expansion: a root with 60 results grows to 69 after three. Here the counts are a
    # function of the tree: asking again gives the same answer.
    tree = [node("r", None, 30, 60), *(node(f"c{i}", "r", 1, 3) for i in range(3))]
    rng = np.random.default_rng(0)
    for _ in range(5):
        hgm.expand_parent(tree, rng)
    assert tree[0].n_evaluated == 60
    from dgm.selectors import clade_counts

    assert clade_counts(tree)["r"] == (33, 69)


def test_no_expansion_without_a_success() -> None:
    assert (
        hgm.expand_parent([node("r", None, 0, 4), node("c", "r", 0, 1)], np.random.default_rng(0))
        is None
    )


def test_evaluation_draws_over_own_results_among_agents_with_open_tasks() -> None:
    nodes = [
        node("root", None, 2, 10, ()),  # run everything: not a candidate
        node("x", "root", 0, 4, ("a",)),
        node("y", "x", 3, 4, ("b", "c")),
        node("z", "root", 1, 2, ("d",)),
    ]
    s = np.array([0.0, 3.0, 1.0])  # own, not pooled: x's clade would be 3/8
    n = np.array([4.0, 4.0, 2.0])
    for seed in range(200):
        rng = np.random.default_rng(seed)
        agent = ["x", "y", "z"][int(np.argmax(rng.beta(1 + s, 1 + n - s)))]
        got = hgm.evaluate_choice(nodes, np.random.default_rng(seed))
        assert got is not None and got.agent_id == agent
        assert got.task_id in {"x": ("a",), "y": ("b", "c"), "z": ("d",)}[agent]


def test_the_task_is_drawn_uniformly_among_open_ones() -> None:
    lone = [node("r", None, 0, 0, ALL)]
    picks = Counter(
        hgm.evaluate_choice(lone, np.random.default_rng(seed)).task_id  # type: ignore[union-attr]
        for seed in range(4000)
    )
    assert set(picks) == set(ALL)
    assert all(abs(c / 4000 - 0.25) < 0.03 for c in picks.values())


def test_decide_follows_the_rule_and_its_fallbacks() -> None:
    rng = np.random.default_rng(1)
    fresh = [node("r", None, 0, 0)]
    # Wants to expand (0 >= 0) but no agent has a success: evaluates instead.
    assert isinstance(hgm.decide(fresh, 0, 0, 0.6, rng), Evaluate)
    solved = [node("r", None, 1, 1, ("b", "c", "d"))]
    assert hgm.decide(solved, 1, 0, 0.6, rng) == Expand("r")  # 1 >= 0
    two = [node("r", None, 1, 1, ("b", "c", "d")), node("c", "r", 0, 0)]
    assert isinstance(hgm.decide(two, 1, 1, 0.6, rng), Evaluate)  # 1 < 1 + 1 pending
    # Nothing left to evaluate: grows the tree rather than idle, unless it may not.
    done = [node("r", None, 1, 4, ()), node("c", "r", 0, 4, ())]
    assert not hgm.wants_expansion(8, 2, 3, 0.6)
    assert hgm.decide(done, 8, 3, 0.6, rng) == Expand("r")
    assert hgm.decide(done, 8, 3, 0.6, rng, may_expand=False) is None
    # The iteration budget is spent: evaluates even when the rule says expand.
    assert isinstance(hgm.decide(solved, 1, 0, 0.6, rng, may_expand=False), Evaluate)


def test_final_agent_best_posterior_mean_among_agents_with_enough_results() -> None:
    nodes = [
        node("seed", None, 3, 10),  # 4/12 = 0.333
        node("lucky", "seed", 3, 3),  # 4/5 = 0.8, but only 3 results
        node("good", "seed", 6, 10),  # 7/12 = 0.583
        node("twin", "seed", 6, 10),  # ties with good: the older wins
    ]
    assert hgm.final_agent(nodes, 10, 60) == "good"
    assert hgm.final_agent(nodes, 3, 60) == "lucky"
    assert hgm.final_agent(nodes, 50, 3) == "lucky"  # min(50, 3 tasks) = 3
    # Nobody has enough: the most evaluated (ties: best mean, then oldest).
    assert hgm.final_agent(nodes, 11, 60) == "good"
    assert hgm.final_agent([], 10, 60) is None
    assert hgm.posterior_mean(6, 10) == pytest.approx(7 / 12)


@dataclass(frozen=True)
class Stats:
    """The archive's CandidateStats, as far as the scheduler reads them."""

    agent_id: str
    parent_id: str | None
    status: AgentStatus
    score: float | None = None
    n_children: int = 0
    n_resolved: int = 0
    n_evaluated: int = 0


def test_scheduler_draws_are_a_function_of_seed_and_step() -> None:
    candidates = [
        Stats("r", None, "evaluating", n_resolved=1, n_evaluated=2),
        Stats("c", "r", "pending"),
        Stats("x", "r", "rejected"),  # not a node: the tree has 2 agents
    ]
    opened = {"r": ("c", "d"), "c": ALL}
    sched = hgm.Scheduler(HGMSettings(), seed=4, n_tasks=4)
    first = [
        sched.decide(hgm.Situation(candidates, opened, {}, 0, 0, True, step)) for step in range(30)
    ]
    assert first == [
        sched.decide(hgm.Situation(candidates, opened, {}, 0, 0, True, step)) for step in range(30)
    ]
    assert len(set(first)) > 1, "the step must matter"
    assert all(isinstance(d, Evaluate) for d in first)  # 0 ** 0.6 < 2 - 1
    # 1 ** 0.6 >= 2 - 1: expands, and only r has a success
    assert sched.decide(hgm.Situation(candidates, opened, {}, 1, 0, True, 0)) == Expand("r")
    assert sched.final(candidates, {}) == {
        "agent": "r",
        "posterior_mean": 0.5,
        "resolved": 1,
        "evaluated": 2,
        "min_results": 4,
    }

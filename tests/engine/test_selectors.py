"""Selectors against hand-computed probabilities.

sigmoid(10 (s - 0.5)) at s = 0.5, 0.7, 0.3 is 0.5, 1/(1+e^-2) = 0.880797 and
1/(1+e^2) = 0.119203 (the last two sum to 1), which makes the expected
probabilities below computable by hand.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass

import pytest

from archive.info import AgentStatus
from dgm import selectors


@dataclass
class C:
    agent_id: str
    parent_id: str | None
    status: AgentStatus = "evaluated"
    score: float | None = None
    n_children: int = 0
    n_resolved: int = 0
    n_evaluated: int = 0
    generation: int = 0


S07 = 1 / (1 + math.exp(-2))  # 0.880797
S03 = 1 / (1 + math.exp(2))  # 0.119203

POOL = [
    C("a", None, score=0.5, n_children=0),
    C("b", "a", score=0.7, n_children=1),
    C("c", "a", score=0.3, n_children=3),
    C("p", "a", status="pending", score=None),
    C("r", "a", status="rejected", score=0.9),
]


def frequencies(select, pool, n=20000, seed=7) -> dict[str, float]:
    picks = select(pool, random.Random(seed), n)
    counts = Counter(picks)
    return {k: v / n for k, v in counts.items()}


def test_score_child_prop_exact_probabilities() -> None:
    weights = [0.5 / 1, S07 / 2, S03 / 4]
    total = sum(weights)
    expected = [w / total for w in weights]  # 0.51536, 0.45393, 0.03072
    got = selectors.probabilities(selectors.score_child_prop_weights(selectors.eligible(POOL)))
    assert got == pytest.approx(expected, abs=1e-12)
    assert got == pytest.approx([0.515358, 0.453926, 0.030716], abs=1e-6)


def test_score_prop_exact_probabilities() -> None:
    got = selectors.probabilities(selectors.score_prop_weights(selectors.eligible(POOL)))
    # 0.5 + S07 + S03 = 1.5 exactly
    assert got == pytest.approx([0.5 / 1.5, S07 / 1.5, S03 / 1.5], abs=1e-12)


@pytest.mark.parametrize(
    "name,expected",
    [
        ("score_child_prop", {"a": 0.515358, "b": 0.453926, "c": 0.030716}),
        ("score_prop", {"a": 1 / 3, "b": 0.587198, "c": 0.079469}),
        ("random", {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}),
    ],
)
def test_sampling_follows_the_probabilities(name: str, expected: dict[str, float]) -> None:
    freq = frequencies(selectors.SELECTORS[name], POOL)
    assert set(freq) == set(expected), "only evaluated agents may be picked"
    for agent, p in expected.items():
        assert freq[agent] == pytest.approx(p, abs=0.012)


def test_best_really_picks_the_best() -> None:
    assert selectors.best(POOL, random.Random(0), 1) == ["b"]
    assert selectors.best(POOL, random.Random(0), 4) == ["b", "a", "c", "b"]


def test_best_breaks_ties_at_random() -> None:
    pool = [C("x", None, score=0.6), C("y", None, score=0.6), C("z", None, score=0.1)]
    firsts = {selectors.best(pool, random.Random(s), 1)[0] for s in range(30)}
    assert firsts == {"x", "y"}


def test_no_eligible_agent_gives_no_parent() -> None:
    pool = [C("p", None, status="pending"), C("r", None, status="rejected", score=1.0)]
    for select in selectors.SELECTORS.values():
        assert select(pool, random.Random(0), 3) == []


def test_same_seed_same_choices() -> None:
    for select in selectors.SELECTORS.values():
        assert select(POOL, random.Random(42), 50) == select(POOL, random.Random(42), 50)


# Clade-Thompson: R(2/10) has children X(1/10) and Z(5/10); X has a pending child Y(9/10).
CLADE = [
    C("R", None, score=0.2, n_resolved=2, n_evaluated=10, n_children=2),
    C("X", "R", score=0.1, n_resolved=1, n_evaluated=10, n_children=1),
    C("Y", "X", status="pending", n_resolved=9, n_evaluated=10),
    C("Z", "R", score=0.5, n_resolved=5, n_evaluated=10),
]


def test_clade_counts_pool_descendants() -> None:
    assert selectors.clade_counts(CLADE) == {
        "Y": (9, 10),
        "X": (10, 20),
        "Z": (5, 10),
        "R": (17, 40),
    }


def beta_pdf(a: float, b: float, x: float) -> float:
    lg = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    return math.exp(lg + (a - 1) * math.log(x) + (b - 1) * math.log(1 - x))


def beta_cdf_table(a: float, b: float, xs: list[float], dx: float) -> list[float]:
    out, acc = [], 0.0
    for x in xs:
        acc += beta_pdf(a, b, x) * dx
        out.append(acc)
    return out


def thompson_win_probabilities(params: dict[str, tuple[float, float]]) -> dict[str, float]:
    """P(node's draw is the largest) = integral of pdf_i * prod_j cdf_j, by the midpoint rule."""
    n = 20000
    dx = 1.0 / n
    xs = [(i + 0.5) * dx for i in range(n)]
    cdfs = {k: beta_cdf_table(a, b, xs, dx) for k, (a, b) in params.items()}
    win = {}
    for k, (a, b) in params.items():
        total = 0.0
        for i, x in enumerate(xs):
            others = 1.0
            for j in params:
                if j != k:
                    others *= cdfs[j][i]
            total += beta_pdf(a, b, x) * others * dx
        win[k] = total
    return win


def test_clade_thompson_matches_the_pooled_posterior() -> None:
    # Posteriors: R Beta(18, 24), X Beta(11, 11), Z Beta(6, 6); Y is not eligible.
    expected = thompson_win_probabilities({"R": (18, 24), "X": (11, 11), "Z": (6, 6)})
    assert sum(expected.values()) == pytest.approx(1.0, abs=1e-3)
    freq = frequencies(selectors.clade_thompson, CLADE, n=20000, seed=3)
    assert set(freq) <= {"R", "X", "Z"}
    for agent, p in expected.items():
        assert freq.get(agent, 0.0) == pytest.approx(p, abs=0.012)
    # Without pooling X (1/10) would almost never win; pooled with Y it beats R most often.
    assert freq["X"] > freq["R"]


def test_rank_fitness_maps_any_problem_scores_into_0_1_by_rank() -> None:
    pool = [
        C("a", None, score=-36.0),  # a terrible program: rank 0, not a squashed crowd
        C("b", "a", score=-6.9),
        C("c", "a", score=-6.6),
        C("d", "a", score=-6.6),  # ties share their mean rank
        C("e", "a", score=-6.5),
        C("p", "a", status="pending", score=None),
        C("f", "a", status="failed", score=None),
    ]
    ranked = {c.agent_id: c.score for c in selectors.rank_fitness(pool)}
    assert ranked == {"a": 0.0, "b": 0.25, "c": 0.625, "d": 0.625, "e": 1.0, "p": None, "f": None}
    assert [c.score for c in selectors.rank_fitness([C("x", None, score=123.0)])] == [1.0]
    # DGM's selectors work on it unchanged: `best` picks the best program, the others only
    # eligible ones, with DGM's sigmoid now meaningful.
    ranked_pool = selectors.rank_fitness(pool)
    assert selectors.best(ranked_pool, random.Random(0), 1) == ["e"]
    for name, select in selectors.SELECTORS.items():
        picks = select(ranked_pool, random.Random(1), 20)
        assert picks and set(picks) <= {"a", "b", "c", "d", "e"}, name
    counts = Counter(selectors.score_prop(ranked_pool, random.Random(2), 4000))
    assert counts["e"] > counts["b"] > counts["a"]


# Islands (4 islands): the seed S founds all of them; the n-th agent joins island n mod 4
# when its parent is in it, else its parent's lowest island.
ISLE = [
    C("S", None, score=0.1),  # 0: every island
    C("a", "S", score=0.9),  # 1: island 1
    C("b", "S", score=0.2),  # 2: island 2
    C("c", "S", score=0.5),  # 3: island 3
    C("d", "S", score=0.3),  # 4: island 0
]


def members(pool: list[C], period: int = 25) -> list[list[str]]:
    return [[c.agent_id for c in isle] for isle in selectors.island_members(pool, 4, period)]


def test_island_membership_follows_the_schedule_and_the_lineage() -> None:
    assert members(ISLE) == [["S", "d"], ["S", "a"], ["S", "b"], ["S", "c"]]
    grown = [
        *ISLE,
        C("e", "a", score=0.4),  # 5: 5 mod 4 = 1, and a is in island 1
        C("f", "a", score=0.4),  # 6: scheduled for island 2, but a is only in island 1
        C("g", "S", status="pending"),  # 7: island 3; pending agents are members too
    ]
    assert members(grown) == [["S", "d"], ["S", "a", "e", "f"], ["S", "b"], ["S", "c", "g"]]


def test_islands_reset_wipes_the_weaker_half_from_the_best_survivors() -> None:
    # Before agent 5: bests are 0.3 (island 0), 0.9 (1), 0.2 (2), 0.5 (3). Islands 2 and 0
    # are the weakest: 2 restarts from island 1's best (a), 0 from island 3's best (c).
    assert members(ISLE, period=5) == [["c"], ["S", "a"], ["a"], ["S", "c"]]
    grown = [
        *ISLE,
        C("h", "S", score=0.8),  # 5: island 1 (S is still in it)
        C("i", "a", score=0.8),  # 6: island 2, whose only member is a
        C("j", "b", score=0.8),  # 7: b's island was wiped: a dead lineage, in no island
        C("k", "d", score=0.8),  # 8: so was d's
    ]
    assert members(grown, period=5) == [["c"], ["S", "a", "h"], ["a", "i"], ["S", "c"]]


def test_islands_picks_by_rank_within_the_scheduled_island() -> None:
    # Five agents: the next child is the 5th (island 1: S 0.1, a 0.9 -> a 2/3, S 1/3);
    # with k = 4 the picks serve islands 1, 2, 3, 0 in turn.
    picks = [selectors.islands(ISLE, random.Random(s), 4) for s in range(6000)]
    expected = [{"a": 2 / 3, "S": 1 / 3}, {"b": 2 / 3, "S": 1 / 3}, {"c": 2 / 3, "S": 1 / 3}]
    expected.append({"d": 2 / 3, "S": 1 / 3})
    for j, probs in enumerate(expected):
        counts = Counter(p[j] for p in picks)
        assert set(counts) == set(probs)
        for agent, p in probs.items():
            assert counts[agent] / len(picks) == pytest.approx(p, abs=0.025)


def test_islands_without_eligible_members_fall_back_to_the_roots() -> None:
    pool = [
        C("S", None, score=0.4),
        C("x", "S", status="pending"),  # 1: island 1, not eligible
        C("y", "S", status="rejected", score=0.9),  # 2: island 2, not eligible
    ]
    # Next child is the 3rd: island 3 holds only S; k=3 serves islands 3, 0, 1.
    assert selectors.islands(pool, random.Random(1), 3) == ["S", "S", "S"]


def test_islands_is_a_pure_function_of_the_candidates() -> None:
    pool = [*ISLE, *(C(f"z{n}", "a", score=n / 60) for n in range(5, 60))]
    before = list(pool)
    first = selectors.islands(pool, random.Random(9), 20)
    assert selectors.islands(pool, random.Random(9), 20) == first
    assert pool == before
    assert set(first) <= {c.agent_id for c in pool}


def test_islands_weigh_the_rth_best_of_an_island_one_over_r() -> None:
    pool = [
        *ISLE,
        C("e", "a", score=0.4),  # 5: island 1
        C("f", "S", score=0.2),  # 6: island 2
        C("g", "S", score=0.2),  # 7: island 3
        C("h", "S", score=0.2),  # 8: island 0
    ]
    # The next child is the 9th: island 1 ranks a (0.9), e (0.4), S (0.1): 1, 1/2, 1/3.
    rng = random.Random(5)
    counts = Counter(selectors.islands(pool, rng, 1)[0] for _ in range(6000))
    freq = {k: v / 6000 for k, v in counts.items()}
    assert freq == pytest.approx({"a": 6 / 11, "e": 3 / 11, "S": 2 / 11}, abs=0.025)

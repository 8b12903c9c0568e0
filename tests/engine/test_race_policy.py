"""Racing's rules as pure functions (dgm/race.py): the test's probability against hand
computation, verdicts, the incumbent chain, pairing (the parent runs a task first), the
decision, and the seeded task order. The engine driven by it: tests/engine/test_race.py."""

from __future__ import annotations

import pytest

from dgm import race
from dgm.hgm import Evaluate, Expand

TASKS = ("t1", "t2", "t3", "t4", "t5", "t6")


def m(agent: str, parent: str | None, **results: bool) -> race.Member:
    return race.Member(agent, parent, results)


def test_p_better_is_the_beta_tail() -> None:
    assert race.p_better(0, 0) == 0.5  # no discordant task: a coin
    assert race.p_better(1, 0) == 0.25  # P(Beta(1, 2) > 1/2) = (1/2) ** 2
    assert race.p_better(0, 1) == 0.75
    assert race.p_better(4, 0) == 1 / 32  # the first count below 0.05 against the child
    assert race.p_better(2, 3) == pytest.approx(1 - race.p_better(3, 2))
    # P(Beta(3, 4) > 1/2) = P(Binomial(6, 1/2) <= 2) = (1 + 6 + 15) / 64
    assert race.p_better(3, 2) == pytest.approx(22 / 64)


def test_discordant_counts_only_tasks_both_ran() -> None:
    parent = m("p", None, t1=True, t2=False, t3=True)
    child = m("c", "p", t1=False, t2=True, t3=True, t4=True)  # t4: the parent did not run it
    assert race.discordant(child, parent) == (1, 1)


def test_verdicts() -> None:
    parent = m("p", None, t1=True, t2=True, t3=True, t4=True, t5=False, t6=False)
    # One task lost and none won: P = 1/4, below a fresh child's 1/2: dropped at once.
    assert race.verdict(m("c", "p", t1=False), parent, TASKS, 0.05) == "dropped"
    assert race.verdict(m("c", "p", t1=True), parent, TASKS, 0.05) == "racing"  # no evidence
    winning = m("w", "p", t5=True, t6=True, t1=True, t2=True)
    assert race.verdict(winning, parent, TASKS, 0.05) == "racing"  # b = 2: P = 7/8
    # Past 1 - error it is screened, not accepted: it runs every task first.
    assert race.verdict(winning, parent, TASKS, 0.2) == "racing"
    # Every task run, never screened: accepted if ahead (b > a), else dropped.
    ahead = m("e", "p", t1=False, t2=True, t3=True, t4=True, t5=True, t6=True)  # P = 11/16
    assert race.verdict(ahead, parent, TASKS, 0.05) == "accepted"
    even = m("x", "p", t1=False, t2=True, t3=True, t4=True, t5=True, t6=False)
    assert race.verdict(even, parent, TASKS, 0.05) == "dropped"


def test_a_screened_child_runs_every_task_and_is_judged_on_all() -> None:
    # The parent fails the child's first two tasks (in the child's own order) and solves
    # the rest; the child wins those two (P = 7/8 > 1 - 0.2: screened), then loses three.
    mine = race.child_order(TASKS, "c")
    parent = race.Member("p", None, {t: i >= 2 for i, t in enumerate(mine)})
    losing = race.Member("c", "p", {t: i < 2 for i, t in enumerate(mine[:5])})  # a=3, b=2
    assert race.screened(losing, parent, mine, 0.2)
    assert race.verdict(losing, parent, TASKS, 0.2) == "racing"  # behind, but screened
    assert race.verdict(losing, parent, TASKS, 0.05) == "dropped"  # never screened at 0.05
    done = race.Member("c", "p", {**losing.results, mine[5]: True})  # every task, a > b
    assert race.verdict(done, parent, TASKS, 0.2) == "dropped"
    won = race.Member("c", "p", {t: i != 2 for i, t in enumerate(mine)})  # a=1, b=2
    assert race.verdict(won, parent, TASKS, 0.2) == "accepted"


def test_the_incumbent_follows_the_chain_of_accepted_children() -> None:
    seed = m("s", None, t1=True, t2=False, t3=False, t4=False, t5=False, t6=False)
    a = m("a", "s", t1=True, t2=True, t3=True, t4=True, t5=True, t6=True)  # b = 5: accepted
    b = m("b", "a", t1=True)  # racing: no discordant task yet
    c = m("c", "s", t1=True, t2=True, t3=True, t4=True, t5=True, t6=True)  # later: not taken
    assert race.incumbent([seed, a, b, c], TASKS, 0.05) == a
    memo = race.Memo()
    assert race.incumbent([seed, a, b, c], TASKS, 0.05, memo) == a
    assert memo.ended == {"a": "accepted", "c": "accepted"}  # racing `b` is not memoised
    assert memo.successor == {"s": "a"}
    assert race.incumbent([seed, a, b, c], TASKS, 0.05, memo) == a


def test_the_parent_runs_a_task_before_its_child() -> None:
    parent = m("p", None, t1=True)
    child = m("c", "p", t1=False)
    order = TASKS
    opened = {"p": TASKS[1:], "c": TASKS[1:]}
    assert race.next_pair_task(child, parent, order, opened) == Evaluate("p", "t2")
    paired = m("p", None, t1=True, t2=True)
    assert race.next_pair_task(child, paired, order, {"p": TASKS[2:], "c": TASKS[1:]}) == Evaluate(
        "c", "t2"
    )
    # A task of the child in flight: wait for it (its result may end the race).
    assert race.next_pair_task(child, paired, order, {"p": TASKS[2:], "c": TASKS[2:]}) is None


def test_decide_races_then_expands_from_the_incumbent() -> None:
    seed = m("s", None, t1=True, t2=True)
    child = m("c", "s", t1=True)
    opened = {"s": TASKS[2:], "c": TASKS[1:]}
    order = TASKS
    assert race.decide([seed, child], opened, order, 0.05) == Evaluate("c", "t2")
    lost = m("c", "s", t1=False)  # dropped: the next job is a new child of the seed
    assert race.decide([seed, lost], {"s": TASKS[2:], "c": TASKS[1:]}, order, 0.05) == Expand("s")
    assert race.decide([seed, lost], {}, order, 0.05, may_expand=False) is None


def test_the_task_order_is_the_seeds() -> None:
    assert race.task_order(TASKS, 3) == race.task_order(TASKS, 3)
    assert sorted(race.task_order(TASKS, 3)) == sorted(TASKS)
    assert len({race.task_order(TASKS, s) for s in range(6)}) > 1


def test_each_child_runs_the_tasks_in_its_own_order() -> None:
    order = race.task_order(TASKS, 3)
    mine = race.child_order(order, "c1")
    assert mine == race.child_order(order, "c1") and sorted(mine) == sorted(TASKS)
    assert len({race.child_order(order, f"c{i}") for i in range(8)}) > 1
    # The child's first task is its own order's first: the parent runs it first.
    parent = m("p", None)
    first = race.next_pair_task(m("c1", "p"), parent, order, {"p": order, "c1": order})
    assert first == Evaluate("p", mine[0])

"""The tree view: what is shown, and that every agent is accounted for."""

from __future__ import annotations

import random

from archive import CandidateStats
from archive.tree import TreeNode, TreeView, shape_tree


def agent(i: int, parent: int | None, score: float | None, gen: int = 0) -> CandidateStats:
    return CandidateStats(
        f"{i:016x}",
        f"{parent:016x}" if parent is not None else None,
        gen,
        "evaluated",
        score,
        0,
        0,
        0,
    )


def walk(view: TreeView) -> tuple[list[TreeNode], int]:
    """Shown nodes, and the agents summarised (hidden lines and lineage gaps)."""
    shown, summarised, stack = [], view.hidden, list(view.roots)
    while stack:
        node = stack.pop()
        shown.append(node)
        summarised += node.hidden + node.gap_agents
        stack.extend(node.children)
    return shown, summarised


def random_tree(n: int, seed: int = 0) -> list[CandidateStats]:
    rng = random.Random(seed)
    stats = [agent(0, None, 0.1)]
    for i in range(1, n):
        p = rng.randrange(max(0, i - 50), i)
        stats.append(agent(i, p, round(rng.random(), 3), stats[p].generation + 1))
    return stats


def test_small_tree_is_shown_whole() -> None:
    stats = [agent(0, None, 0.1), agent(1, 0, 0.5), agent(2, 0, None), agent(3, 1, 0.9)]
    view = shape_tree(stats)
    shown, summarised = walk(view)
    assert len(shown) == 4 and summarised == 0
    assert view.best is not None and view.best.agent_id == stats[3].agent_id
    assert [n.on_best_path for n in sorted(shown, key=lambda n: n.stats.agent_id)] == [
        True,
        True,
        False,
        True,
    ]
    root = view.roots[0]
    assert [c.stats.agent_id for c in root.children] == [
        stats[1].agent_id,
        stats[2].agent_id,
    ]  # lineage first


def test_large_tree_respects_the_budget_and_counts_everyone() -> None:
    stats = random_tree(5000)
    view = shape_tree(stats, max_nodes=100, top_k=3, max_depth=14)
    shown, summarised = walk(view)
    assert len(shown) <= 100 + 1  # the lineage resumes after a gap with one extra node
    assert len(shown) + summarised == 5000
    best = max((s for s in stats if s.score is not None), key=lambda s: s.score)  # type: ignore[arg-type,return-value]
    assert best.agent_id in {n.stats.agent_id for n in shown}


def test_deep_lineage_is_elided_in_the_middle() -> None:
    # A chain of even ids 0-2-4-...-598; each link also has an odd leaf child scoring
    # higher the deeper it is, so the best agent (597) hangs from the end of the chain.
    stats = [agent(0, None, 0.0)]
    for i in range(1, 300):
        stats.append(agent(2 * i - 1, 2 * (i - 1), i / 1000, i))
        stats.append(agent(2 * i, 2 * (i - 1), 0.0, i))
    view = shape_tree(stats, max_nodes=60, max_depth=10)
    shown, summarised = walk(view)
    assert len(shown) + summarised == len(stats)
    gaps = [n for n in shown if n.gap]
    assert len(gaps) == 1 and gaps[0].on_best_path and gaps[0].gap > 200
    depth, node = 0, view.roots[0]
    while node.children:  # follow the lineage: never deeper than max_depth levels
        node = (
            next(c for c in node.children if c.on_best_path)
            if any(c.on_best_path for c in node.children)
            else node.children[0]
        )
        depth += 1 + (1 if node.gap else 0)
    assert depth <= 10
    assert view.best is not None and node.stats.agent_id == view.best.agent_id == f"{597:016x}"

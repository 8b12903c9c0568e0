"""Which part of a run's tree to show (pure functions over `CandidateStats`).

A 100k-agent tree cannot be printed whole. `shape_tree` keeps the best lineage, then
grows the view greedily by subtree quality (the best score anywhere below a node) until a
node budget is spent, showing at most `top_k` siblings of any node besides the lineage and
nothing deeper than `max_depth` levels. Every hidden subtree is summarised on its parent
as "N more (best S)". A best lineage longer than `max_depth` shows its first generations
and its last ones; the middle becomes one "gap" line (how many generations, how many
agents in their side branches, their best score).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from archive.info import CandidateStats

HEAD = 2  # lineage generations kept above a gap


@dataclass
class TreeNode:
    stats: CandidateStats
    on_best_path: bool
    subtree_size: int  # this node and all its descendants
    subtree_best: float | None  # best score in the subtree
    children: list[TreeNode] = field(default_factory=list)  # the shown ones, best first
    hidden: int = 0  # agents below this node that are not shown
    hidden_best: float | None = None  # best score among them
    gap: int = 0  # lineage generations elided between this node and its shown parent
    gap_agents: int = 0  # agents in those generations and their side branches
    gap_best: float | None = None


@dataclass
class TreeView:
    roots: list[TreeNode]  # shown agents whose parent is not in the run
    best: CandidateStats | None
    hidden: int = 0  # root subtrees not shown (a run with many seeds)
    hidden_best: float | None = None


def _better(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if a >= b else b


def best_agent(stats: Sequence[CandidateStats]) -> CandidateStats | None:
    """The highest score; the earliest agent on ties; None when nothing is scored."""
    best = None
    for s in stats:
        if s.score is not None and (best is None or s.score > best.score):  # type: ignore[operator]
            best = s
    return best


def shape_tree(
    stats: Sequence[CandidateStats], max_nodes: int = 150, top_k: int = 3, max_depth: int = 14
) -> TreeView:
    """The part of the tree worth showing (everything when it fits in max_nodes and max_depth)."""
    n = len(stats)
    index = {s.agent_id: i for i, s in enumerate(stats)}
    parent_of = [index.get(s.parent_id, -1) if s.parent_id else -1 for s in stats]
    kids: list[list[int]] = [[] for _ in range(n)]
    size = [1] * n
    best = [s.score for s in stats]
    # Children are created after their parents, so one backward pass sums subtrees.
    for i in range(n - 1, -1, -1):
        p = parent_of[i]
        if p >= 0:
            kids[p].append(i)
            size[p] += size[i]
            b = best[i]
            if b is not None and (best[p] is None or b > best[p]):  # type: ignore[operator]
                best[p] = b
    winner = best_agent(stats)
    chain: list[int] = []
    i = index[winner.agent_id] if winner else -1
    while i >= 0 and len(chain) <= n:
        chain.append(i)
        i = parent_of[i]
    chain.reverse()
    lineage = set(chain)
    keep = max(1, max_depth - HEAD - 1)
    elided = chain[HEAD:-keep] if len(chain) > HEAD + keep else []
    blocked = set(elided)

    def rank(i: int) -> tuple[int, float, int, int]:
        score = best[i]
        return (0 if i in lineage else 1, -(score if score is not None else -1.0), -size[i], i)

    roots = sorted((i for i in range(n) if parent_of[i] < 0), key=rank)
    depth: dict[int, int] = {}  # levels in the view
    for level, i in enumerate(c for c in chain if c not in blocked):
        depth[i] = level + (1 if elided and level >= HEAD else 0)
    for r in roots[:top_k]:
        depth.setdefault(r, 0)
    if (
        n <= max_nodes
        and not elided
        and max((depth.get(i, 0) for i in chain), default=0) < max_depth
    ):
        shown = set(range(n))
    else:
        shown = set(depth)
        frontier: list[tuple[tuple[int, float, int, int], int]] = []
        extra: Counter[int] = Counter()  # shown non-lineage children per node

        def offer(parent: int) -> None:
            if depth[parent] + 1 < max_depth:
                for k in kids[parent]:
                    if k not in shown and k not in blocked:
                        heapq.heappush(frontier, (rank(k), k))

        for i in list(shown):
            offer(i)
        while frontier and len(shown) < max_nodes:
            _, k = heapq.heappop(frontier)
            p = parent_of[k]
            if k in shown or extra[p] >= top_k:
                continue
            shown.add(k)
            extra[p] += 1
            depth[k] = depth[p] + 1
            offer(k)

    # Built iteratively: a lineage can be thousands deep, deeper than Python recursion.
    nodes: dict[int, TreeNode] = {}
    pending: list[int] = []

    def node_for(k: int) -> TreeNode:
        nodes[k] = TreeNode(stats[k], k in lineage, size[k], best[k])
        pending.append(k)
        return nodes[k]

    view = TreeView([node_for(r) for r in roots if r in shown], winner)
    for r in roots:
        if r not in shown:
            view.hidden += size[r]
            view.hidden_best = _better(view.hidden_best, best[r])
    while pending:
        i = pending.pop()
        for k in sorted(kids[i], key=rank):
            if k in shown:
                nodes[i].children.append(node_for(k))
            elif elided and k == elided[0]:
                resumed = chain[chain.index(k) + len(elided)]
                node = node_for(resumed)
                node.gap = len(elided)
                node.gap_agents = size[k] - size[resumed]
                node.gap_best = _side_best(elided, kids, best, stats, lineage)
                nodes[i].children.append(node)
            else:
                nodes[i].hidden += size[k]
                nodes[i].hidden_best = _better(nodes[i].hidden_best, best[k])
    return view


def _side_best(
    elided: list[int],
    kids: list[list[int]],
    best: list[float | None],
    stats: Sequence[CandidateStats],
    lineage: set[int],
) -> float | None:
    """Best score among elided lineage agents and their side branches."""
    out: float | None = None
    for i in elided:
        out = _better(out, stats[i].score)
        for k in kids[i]:
            if k not in lineage:
                out = _better(out, best[k])
    return out

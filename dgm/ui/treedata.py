"""The run's tree as JSON for the browser, by levels: never all 100k agents at once.

The first view is the CLI's (`archive.tree.shape_tree`: the best lineage, then the best
subtrees up to a node budget); every collapsed node says how many agents hide below it,
and the browser asks for a node's children when one is expanded. The per-run index
(children, subtree sizes and bests) is rebuilt only when the run's fingerprint changes.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from archive import Archive, CandidateStats, views
from archive.errors import ArchiveError
from archive.tree import TreeNode, shape_tree

MAX_NODES = 150  # first view
EXPAND_LIMIT = 40  # children sent per expansion, best subtrees first
MIN_AGE_S = 2.0  # a tree younger than this (or than twice its build time) is served as is


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic collector: building 100k small lists would trigger many full
    collections over every live object (they made the build several times slower)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class RunTree:
    stats: Sequence[CandidateStats]
    index: dict[str, int]
    kids: dict[int, list[int]]
    size: list[int]
    best: list[float | None]
    first_view: dict[str, Any]


def build(stats: Sequence[CandidateStats]) -> RunTree:
    with no_gc():
        return _build(stats)


def _build(stats: Sequence[CandidateStats]) -> RunTree:
    n = len(stats)
    index = {s.agent_id: i for i, s in enumerate(stats)}
    parent_of = [index.get(s.parent_id, -1) if s.parent_id else -1 for s in stats]
    kids: dict[int, list[int]] = {}  # only parents get a list: most agents are leaves
    size = [1] * n
    best = [s.score for s in stats]
    for i in range(n - 1, -1, -1):  # children come after their parents
        p = parent_of[i]
        if p >= 0:
            kids.setdefault(p, []).append(i)
            size[p] += size[i]
            b = best[i]
            if b is not None and (best[p] is None or b > best[p]):  # type: ignore[operator]
                best[p] = b
    tree = RunTree(stats, index, kids, size, best, {})
    tree.first_view = _first_view(tree)
    return tree


def node_json(tree: RunTree, i: int, parent: str | None, **extra: Any) -> dict[str, Any]:
    s = tree.stats[i]
    return {
        "id": s.agent_id,
        "p": parent,
        "s": s.score,
        "st": s.status,
        "g": s.generation,
        "n": tree.size[i],
        "sb": tree.best[i],
        "k": len(tree.kids.get(i, ())),
        **extra,
    }


def _first_view(tree: RunTree) -> dict[str, Any]:
    view = shape_tree(tree.stats, max_nodes=MAX_NODES)
    nodes: list[dict[str, Any]] = []
    stack: list[tuple[TreeNode, str | None]] = [(r, None) for r in reversed(view.roots)]
    while stack:
        node, parent = stack.pop()
        i = tree.index[node.stats.agent_id]
        extra: dict[str, Any] = {"b": node.on_best_path, "h": node.hidden, "hb": node.hidden_best}
        if node.gap:
            extra |= {"gap": node.gap, "gap_n": node.gap_agents, "gap_b": node.gap_best}
        nodes.append(node_json(tree, i, parent, **extra))
        stack.extend((c, node.stats.agent_id) for c in reversed(node.children))
    return {
        "total": len(tree.stats),
        "best": view.best.agent_id if view.best else None,
        "nodes": nodes,
        "hidden": view.hidden,
        "hidden_best": view.hidden_best,
    }


def _desc(score: float | None) -> float:
    """A sort key: best scores first, unscored last."""
    return -score if score is not None else 1.0


def children(tree: RunTree, agent_id: str, limit: int = EXPAND_LIMIT) -> dict[str, Any]:
    """The agent's children, best subtrees first, at most `limit`; the rest as a count."""
    i = tree.index.get(agent_id)
    if i is None:
        raise ArchiveError(f"no agent {agent_id!r} in this run")
    ranked = sorted(
        tree.kids.get(i, ()),
        key=lambda k: (_desc(tree.best[k]), k),
    )
    shown, rest = ranked[:limit], ranked[limit:]
    rest_best = max((tree.best[k] for k in rest if tree.best[k] is not None), default=None)  # type: ignore[type-var]
    return {
        "node": agent_id,
        "nodes": [
            node_json(tree, k, agent_id, b=False, h=tree.size[k] - 1, hb=None) for k in shown
        ],
        "more": sum(tree.size[k] for k in rest),
        "more_best": rest_best,
    }


@dataclass
class Cached:
    fingerprint: tuple[Any, ...]
    tree: RunTree
    built_at: float
    cost_s: float


class TreeCache:
    """One RunTree per run, rebuilt when the run's fingerprint moves, but not more often
    than every MIN_AGE_S or twice the build's own time: a live run at 100k agents changes
    every second, and a view seconds old is as good as a fresh one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._trees: dict[str, Cached] = {}

    def get(self, archive: Archive, run_id: str) -> RunTree:
        fp = views.run_fingerprint(archive, run_id)
        with self._lock:
            hit = self._trees.get(run_id)
        now = time.monotonic()
        if hit is not None and (
            hit.fingerprint == fp or now - hit.built_at < max(MIN_AGE_S, 2 * hit.cost_s)
        ):
            return hit.tree
        tree = build(archive.candidate_stats(run_id))
        ids = [n["id"] for n in tree.first_view["nodes"]]
        for n in tree.first_view["nodes"]:
            n["p2"] = None
        p2 = views.second_parents(archive, ids)
        for n in tree.first_view["nodes"]:
            n["p2"] = p2.get(n["id"])
        with self._lock:
            self._trees[run_id] = Cached(fp, tree, now, time.monotonic() - now)
        return tree

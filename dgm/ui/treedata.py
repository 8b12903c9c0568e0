"""The run's tree as JSON for the browser, by levels: never all 100k agents at once.

The first view is the CLI's (`archive.tree.shape_tree`: the best lineage, then the best
subtrees up to a node budget); every collapsed node says how many agents hide below it,
and the browser asks for a node's children when one is expanded. The index behind
expansions (children, subtree sizes and bests of every agent) is built on the first
expansion only.

A live run at 100k agents changes every second and a rebuild costs a noticeable part of
a second, so `TreeCache` serves the tree it has and rebuilds in the background (one build
per run at a time, not more often than every MIN_AGE_S); only the very first request of a
run waits for a build.

Scores go out as people read them: a problem run's raw objective (`archive.info.objective`:
the archive stores a 'min' problem's score negated). Each node also carries `c`, the value
its colour is drawn from, in [0, 1]: a suite run's score as it is, a problem run's rank
among the run's scored agents (`dgm.selectors.ranks`, the rule parent selection uses).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from archive import Archive, CandidateStats, ui_queries
from archive.errors import ArchiveError
from archive.info import objective
from archive.tree import TreeNode, shape_tree
from dgm.selectors import ranks

log = logging.getLogger(__name__)

MAX_NODES = 150  # first view
EXPAND_LIMIT = 40  # children sent per expansion, best subtrees first
MIN_AGE_S = 2.0


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic collector: building 100k small objects would trigger many full
    collections over every live object (they made the build several times slower)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class Index:
    """Every agent's position, children, subtree size and subtree best."""

    pos: dict[str, int]
    kids: dict[int, list[int]]  # only parents have an entry: most agents are leaves
    size: list[int]
    best: list[float | None]


def make_index(stats: Sequence[CandidateStats]) -> Index:
    with no_gc():
        n = len(stats)
        pos = {s.agent_id: i for i, s in enumerate(stats)}
        kids: dict[int, list[int]] = {}
        size = [1] * n
        best = [s.score for s in stats]
        for i in range(n - 1, -1, -1):  # children come after their parents
            parent = stats[i].parent_id
            p = pos.get(parent, -1) if parent else -1
            if p >= 0:
                kids.setdefault(p, []).append(i)
                size[p] += size[i]
                b = best[i]
                if b is not None and (best[p] is None or b > best[p]):  # type: ignore[operator]
                    best[p] = b
    return Index(pos, kids, size, best)


Shades = dict[str, float] | None  # a problem run's colour values; None: a suite's scores


def shades(stats: Sequence[CandidateStats], direction: str | None) -> Shades:
    """The colour value of every scored agent of a problem run (module doc)."""
    if direction is None:  # a suite's scores are already in [0, 1]
        return None
    ids, fitness = [], []
    for s in stats:
        if s.score is not None:
            ids.append(s.agent_id)
            fitness.append(s.score)
    return dict(zip(ids, ranks(fitness), strict=True))


def shade(colours: Shades, s: CandidateStats) -> float | None:
    return s.score if colours is None else colours.get(s.agent_id)


@dataclass
class RunTree:
    stats: Sequence[CandidateStats]
    first_view: dict[str, Any]
    direction: str | None = None
    shades: Shades = None
    _index: Index | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def index(self) -> Index:
        with self._lock:
            if self._index is None:
                self._index = make_index(self.stats)
            return self._index


def first_view(
    stats: Sequence[CandidateStats], direction: str | None, colours: Shades
) -> dict[str, Any]:
    with no_gc():
        view = shape_tree(stats, max_nodes=MAX_NODES)
    nodes: list[dict[str, Any]] = []
    stack: list[tuple[TreeNode, str | None]] = [(r, None) for r in reversed(view.roots)]
    while stack:
        node, parent = stack.pop()
        s = node.stats
        doc = {
            "id": s.agent_id,
            "p": parent,
            "s": objective(s.score, direction),
            "c": shade(colours, s),
            "st": s.status,
            "g": s.generation,
            "n": node.subtree_size,
            "sb": objective(node.subtree_best, direction),
            "b": node.on_best_path,
            "h": node.hidden,
            "hb": objective(node.hidden_best, direction),
        }
        if node.gap:
            doc |= {
                "gap": node.gap,
                "gap_n": node.gap_agents,
                "gap_b": objective(node.gap_best, direction),
            }
        nodes.append(doc)
        stack.extend((c, s.agent_id) for c in reversed(node.children))
    return {
        "total": len(stats),
        "direction": direction,
        "best": view.best.agent_id if view.best else None,
        "nodes": nodes,
        "hidden": view.hidden,
        "hidden_best": objective(view.hidden_best, direction),
    }


def build(stats: Sequence[CandidateStats], direction: str | None = None) -> RunTree:
    """The run's first view; `direction` is the run's (None for a suite)."""
    colours = shades(stats, direction)
    return RunTree(stats, first_view(stats, direction, colours), direction, colours)


def _desc(score: float | None) -> float:
    """A sort key: best scores first, unscored last."""
    return -score if score is not None else 1.0


def children(tree: RunTree, agent_id: str, limit: int = EXPAND_LIMIT) -> dict[str, Any]:
    """The agent's children, best subtrees first, at most `limit`; the rest as a count."""
    ix = tree.index()
    i = ix.pos.get(agent_id)
    if i is None:
        raise ArchiveError(f"no agent {agent_id!r} in this run")
    ranked = sorted(ix.kids.get(i, ()), key=lambda k: (_desc(ix.best[k]), k))
    shown, rest = ranked[:limit], ranked[limit:]
    rest_scores = [b for b in (ix.best[k] for k in rest) if b is not None]
    nodes = []
    for k in shown:
        s = tree.stats[k]
        nodes.append(
            {
                "id": s.agent_id,
                "p": agent_id,
                "s": objective(s.score, tree.direction),
                "c": shade(tree.shades, s),
                "st": s.status,
                "g": s.generation,
                "n": ix.size[k],
                "sb": objective(ix.best[k], tree.direction),
                "b": False,
                "h": ix.size[k] - 1,
                "hb": None,
            }
        )
    return {
        "node": agent_id,
        "nodes": nodes,
        "more": sum(ix.size[k] for k in rest),
        "more_best": objective(max(rest_scores, default=None), tree.direction),
    }


@dataclass
class Cached:
    fingerprint: tuple[Any, ...]
    tree: RunTree
    built_at: float
    rebuilding: bool = False


class TreeCache:
    """One RunTree per run (see the module's docstring for when it is rebuilt)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._trees: dict[str, Cached] = {}
        self._first: dict[str, threading.Lock] = {}  # one first build per run at a time

    def cached(self, run_id: str) -> bool:
        with self._lock:
            return run_id in self._trees

    def warm(self, archive: Archive, run_id: str) -> None:
        """Start building the run's tree now, in the background (the run page calls this:
        its script asks for the tree as soon as the page arrives)."""
        with self._lock:
            if run_id in self._trees:
                return
        threading.Thread(target=self._quiet, args=(archive, run_id), daemon=True).start()

    def get(self, archive: Archive, run_id: str) -> tuple[RunTree, tuple[Any, ...]]:
        """The run's tree and the fingerprint it was built at (which may be seconds old)."""
        fp = ui_queries.run_fingerprint(archive, run_id)
        with self._lock:
            hit = self._trees.get(run_id)
            if hit is not None:
                stale = hit.fingerprint != fp
                due = time.monotonic() - hit.built_at >= MIN_AGE_S
                if stale and due and not hit.rebuilding:
                    hit.rebuilding = True
                    threading.Thread(
                        target=self._quiet, args=(archive, run_id), daemon=True
                    ).start()
                return hit.tree, hit.fingerprint
            first = self._first.setdefault(run_id, threading.Lock())
        with first:  # a build under way (a warm-up) is waited for, not repeated
            with self._lock:
                hit = self._trees.get(run_id)
            if hit is not None:
                return hit.tree, hit.fingerprint
            return self._build(archive, run_id)

    def _build(self, archive: Archive, run_id: str) -> tuple[RunTree, tuple[Any, ...]]:
        fp = ui_queries.run_fingerprint(
            archive, run_id
        )  # before reading: never newer than the data
        tree = build(archive.candidate_stats(run_id), archive.run(run_id).direction)
        p2 = ui_queries.second_parents(archive, [n["id"] for n in tree.first_view["nodes"]])
        for n in tree.first_view["nodes"]:
            n["p2"] = p2.get(n["id"])
        with self._lock:
            self._trees[run_id] = Cached(fp, tree, time.monotonic())
        return tree, fp

    def _quiet(self, archive: Archive, run_id: str) -> None:
        """Build in a background thread; a failure is logged and the next request retries."""
        try:
            with self._lock:
                first = self._first.setdefault(run_id, threading.Lock())
            with first:
                self._build(archive, run_id)
        except Exception:
            log.exception("building the tree of run %s", run_id)
            with self._lock:
                hit = self._trees.get(run_id)
                if hit is not None:
                    hit.rebuilding = False

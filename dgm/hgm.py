"""HGM's scheduler (Huxley-Gödel Machine, metauto-ai/HGM) as a pure policy.

HGM decides one job at a time: each free worker either *expands* (makes a child of a
parent chosen by Thompson sampling over clades) or *evaluates* (runs one more task of an
agent chosen by Thompson sampling over its own results). There are no fixed stages: an
agent is evaluated further only as long as it keeps being drawn. The rules, with the
released code's lines (hgm.py, tree.py at metauto-ai/HGM):

- Expand or evaluate: expand when ``N ** alpha >= (agents - 1) + pending expansions``
  (hgm.py:413-416), where N counts the task evaluations dispatched so far (in flight
  included) and agents counts the tree's nodes, the seed included.
- Expand: the parent is the argmax of one draw from ``Beta(1 + s, 1 + n - s)`` per agent,
  s and n pooled over the agent's clade (itself and every descendant), among agents with
  at least one success of their own (hgm.py:385-394, tree.py:49-54, hgm.py:360-377).
- Evaluate: the agent is the argmax of one draw from ``Beta(1 + s, 1 + n - s)`` over its
  *own* results, among agents with a task neither run nor in flight (hgm.py:427-435); the
  task is drawn uniformly from those (hgm.py:436-448, ``eval_random_level: 1.0``).
- Final agent (the released code returns none): the best posterior mean
  ``(1 + s) / (2 + n)`` among agents with at least ``min(min_results, tasks)`` results;
  if none has that many, the agent with the most results (ties: best mean, then oldest).

Two fallbacks keep a worker busy where the released code would crash or idle: an expand
with no agent having a success yet evaluates instead; an evaluate with no open task
expands instead when a parent exists. docs/engine.md lists the differences from the
released code, the pooled estimator first.

Everything here is a function of its arguments and a numpy Generator: the engine
(dgm/loop.py) and the simulator (benchmarks/perf/search_efficiency.py) call the same code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dgm.config import HGMSettings
from dgm.selectors import Candidate, clade_counts

if TYPE_CHECKING:  # numpy is imported where it is drawn from: the loop imports this
    import numpy as np  # module for every run, and most runs are not HGM's


@dataclass(frozen=True)
class Node:
    """What the policy knows of one agent of the tree (rejected children are not nodes)."""

    agent_id: str
    parent_id: str | None
    n_resolved: int
    n_evaluated: int
    open_tasks: tuple[str, ...]  # tasks it has neither run nor got in flight


@dataclass(frozen=True)
class Expand:
    parent_id: str


@dataclass(frozen=True)
class Evaluate:
    agent_id: str
    task_id: str


Decision = Expand | Evaluate


@dataclass(frozen=True)
class Situation:
    """What a search policy sees when a worker is free (`dgm.loop.Policy.decide`)."""

    candidates: Sequence[Candidate]  # the run's agents, in creation order
    open_tasks: Mapping[str, tuple[str, ...]]  # unfinished agents' tasks neither run nor in flight
    results: Mapping[str, Mapping[str, bool]]  # every agent's task results (task -> resolved)
    dispatched: int  # task evaluations dispatched so far, in flight included
    pending_expansions: int  # children in the making
    may_expand: bool  # False once the run's iteration budget is spent
    step: int  # the decision's number (seeds its draws; replayed on resume)


def wants_expansion(dispatched: int, agents: int, pending_expansions: int, alpha: float) -> bool:
    """HGM's rule (hgm.py:413-416): expand while the tree is small for the evidence so far."""
    return float(dispatched) ** alpha >= (agents - 1) + pending_expansions


def thompson(successes: np.ndarray, trials: np.ndarray, rng: np.random.Generator) -> int:
    """Index of the largest draw from Beta(1 + s, 1 + n - s) (hgm.py:360-377)."""
    draws = rng.beta(1.0 + successes, 1.0 + trials - successes)
    return int(draws.argmax())


def expand_parent(nodes: Sequence[Node], rng: np.random.Generator) -> str | None:
    """Thompson sampling over clades, among agents with a success of their own.

    The counts are pooled over each clade *once* (the intended estimator); the released
    tree.py appends descendants' results to the ancestors' own lists on every call
    instead (see docs/engine.md)."""
    import numpy as np

    pool = [n for n in nodes if n.n_resolved > 0]
    if not pool:
        return None
    pooled = clade_counts(nodes)
    s = np.array([pooled[n.agent_id][0] for n in pool], dtype=float)
    t = np.array([pooled[n.agent_id][1] for n in pool], dtype=float)
    return pool[thompson(s, t, rng)].agent_id


def evaluate_choice(nodes: Sequence[Node], rng: np.random.Generator) -> Evaluate | None:
    """Thompson sampling over agents' own results, then a uniformly drawn open task."""
    import numpy as np

    pool = [n for n in nodes if n.open_tasks]
    if not pool:
        return None
    s = np.array([n.n_resolved for n in pool], dtype=float)
    t = np.array([n.n_evaluated for n in pool], dtype=float)
    agent = pool[thompson(s, t, rng)]
    task = agent.open_tasks[int(rng.integers(len(agent.open_tasks)))]
    return Evaluate(agent.agent_id, task)


def decide(
    nodes: Sequence[Node],
    dispatched: int,
    pending_expansions: int,
    alpha: float,
    rng: np.random.Generator,
    may_expand: bool = True,
) -> Decision | None:
    """The next job of a free worker, or None when there is nothing to do now.
    `may_expand`: False once the run's iteration budget is spent."""
    expand = may_expand and wants_expansion(dispatched, len(nodes), pending_expansions, alpha)
    if expand:
        parent = expand_parent(nodes, rng)
        if parent is not None:
            return Expand(parent)
    job = evaluate_choice(nodes, rng)
    if job is not None or expand or not may_expand:
        return job
    parent = expand_parent(nodes, rng)  # nothing left to evaluate: grow the tree instead
    return Expand(parent) if parent is not None else None


def posterior_mean(n_resolved: int, n_evaluated: int) -> float:
    return (1 + n_resolved) / (2 + n_evaluated)


def final_agent(nodes: Sequence[Node], min_results: int, n_tasks: int) -> str | None:
    """The agent HGM returns: best posterior mean among agents with at least
    min(min_results, n_tasks) results; else the most evaluated one."""
    if not nodes:
        return None
    need = min(min_results, n_tasks)
    order = {n.agent_id: i for i, n in enumerate(nodes)}
    qualified = [n for n in nodes if n.n_evaluated >= need]
    if qualified:
        best = max(
            qualified,
            key=lambda n: (posterior_mean(n.n_resolved, n.n_evaluated), -order[n.agent_id]),
        )
    else:
        best = max(
            nodes,
            key=lambda n: (
                n.n_evaluated,
                posterior_mean(n.n_resolved, n.n_evaluated),
                -order[n.agent_id],
            ),
        )
    return best.agent_id


# ---- the Engine's seam (dgm.loop.Policy) -------------------------------------------------
NOT_NODES = ("rejected", "failed")  # children that never joined the tree (hgm.py:400-403)


def tree(candidates: Sequence[Candidate], open_tasks: Mapping[str, tuple[str, ...]]) -> list[Node]:
    """The archive's agents as HGM's nodes; `open_tasks`: the unfinished agents' tasks
    neither run nor in flight (an agent absent from it has run every task)."""
    return [
        Node(c.agent_id, c.parent_id, c.n_resolved, c.n_evaluated, open_tasks.get(c.agent_id, ()))
        for c in candidates
        if c.status not in NOT_NODES
    ]


class Scheduler:
    """HGM's policy for one run: every draw of decision number `step` comes from a
    generator seeded with (seed, step), so a resumed run makes the same draws."""

    name = "hgm"

    def __init__(self, settings: HGMSettings, seed: int, n_tasks: int) -> None:
        self.settings, self.seed, self.n_tasks = settings, seed, n_tasks

    def decide(self, now: Situation) -> Decision | None:
        """HGM's next job (`now.results` unused: HGM weighs counts only)."""
        import numpy as np

        rng = np.random.default_rng([self.seed, now.step])
        nodes = tree(now.candidates, now.open_tasks)
        alpha = self.settings.alpha
        return decide(nodes, now.dispatched, now.pending_expansions, alpha, rng, now.may_expand)

    def final(
        self, candidates: Sequence[Candidate], results: Mapping[str, Mapping[str, bool]]
    ) -> dict[str, object]:
        """The agent the run returns, with its evidence (the `hgm_final` event)."""
        nodes = tree(candidates, {})
        agent = final_agent(nodes, self.settings.min_results_for_final, self.n_tasks)
        node = next((n for n in nodes if n.agent_id == agent), None)
        if node is None:
            return {"agent": None}
        return {
            "agent": agent,
            "posterior_mean": round(posterior_mean(node.n_resolved, node.n_evaluated), 4),
            "resolved": node.n_resolved,
            "evaluated": node.n_evaluated,
            "min_results": min(self.settings.min_results_for_final, self.n_tasks),
        }

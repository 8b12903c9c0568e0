"""Selectors compared on a simulated landscape: which one finds the best agent?

Prints ONE JSON line: per selector, the median (over seeds) *true* score of the agent the run
would report as its best (the one with the best *observed* score), at a fixed evaluation
budget. Run: ``python -m benchmarks.perf.selection_sim [--seeds N] [--children N]``.

The landscape model
-------------------
- An agent is a vector of hidden logits ``z`` over ``T`` tasks; its solve probability on
  task ``t`` is ``sigmoid(z_t)`` and its *true score* is the mean of those probabilities.
  The seed's logits are drawn from ``N(-1.2, 1.0)`` (true score about 0.27).
- Every agent also carries a hidden *aptitude* ``a`` in ``[0.02, 0.6]``: the chance that a
  mutation of it helps. The seed has ``a = 0.2``; a child inherits its parent's aptitude
  plus ``N(0, 0.07)`` noise, so good clades stay good ("mutation helps more often in good
  clades").
- A mutation touches a random 30 % of the tasks. With probability ``a`` it helps: those
  logits rise by ``|N(0.7, 0.3)|``. Otherwise it hurts: they fall by ``|N(0.8, 0.4)|``.
  With probability 0.1 the child is simply broken (all logits -6: it solves nothing).
- Evaluation: a child is run once on each of ``E`` fixed tasks (the first ``E`` of ``T``),
  each an independent Bernoulli with the agent's solve probability. Its observed score is
  the resolved fraction. The budget is ``children`` evaluated children after the seed, one
  parent picked per child, sequentially (a one-worker run).
- The run reports the agent with the highest observed score (ties: the earliest); the
  benchmark scores it by its true score on all ``T`` tasks.

The same seed gives every selector the same landscape draw stream for the seed agent, so
the comparison is paired at the start and diverges only through the selectors' choices.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
from dataclasses import dataclass, field

from archive.info import AgentStatus
from dgm.selectors import SELECTORS


@dataclass
class SimAgent:
    agent_id: str
    parent_id: str | None
    logits: list[float]
    aptitude: float
    score: float | None = None
    n_resolved: int = 0
    n_evaluated: int = 0
    n_children: int = 0
    status: AgentStatus = "evaluated"
    children: list[str] = field(default_factory=list)

    def true_score(self) -> float:
        return statistics.fmean(1 / (1 + math.exp(-z)) for z in self.logits)


def mutate(parent: SimAgent, agent_id: str, rng: random.Random) -> SimAgent:
    aptitude = min(0.6, max(0.02, parent.aptitude + rng.gauss(0, 0.07)))
    if rng.random() < 0.1:
        return SimAgent(agent_id, parent.agent_id, [-6.0] * len(parent.logits), aptitude)
    logits = list(parent.logits)
    touched = rng.sample(range(len(logits)), k=max(1, int(0.3 * len(logits))))
    helps = rng.random() < parent.aptitude
    for t in touched:
        if helps:
            logits[t] += abs(rng.gauss(0.7, 0.3))
        else:
            logits[t] -= abs(rng.gauss(0.8, 0.4))
    return SimAgent(agent_id, parent.agent_id, logits, aptitude)


def evaluate(agent: SimAgent, n_tasks: int, rng: random.Random) -> None:
    resolved = sum(rng.random() < 1 / (1 + math.exp(-z)) for z in agent.logits[:n_tasks])
    agent.n_resolved, agent.n_evaluated = resolved, n_tasks
    agent.score = resolved / n_tasks


def simulate(selector: str, seed: int, tasks: int, eval_tasks: int, children: int) -> float:
    land = random.Random(seed)  # landscape and evaluation noise
    pick = random.Random(seed * 7919 + 1)  # the selector's own stream
    seed_agent = SimAgent("0", None, [land.gauss(-1.2, 1.0) for _ in range(tasks)], 0.2)
    evaluate(seed_agent, eval_tasks, land)
    agents = {"0": seed_agent}
    select = SELECTORS[selector]
    for i in range(1, children + 1):
        parent = agents[select(list(agents.values()), pick, 1)[0]]
        child = mutate(parent, str(i), land)
        evaluate(child, eval_tasks, land)
        parent.n_children += 1
        agents[child.agent_id] = child
    best = max(agents.values(), key=lambda a: (a.score, -int(a.agent_id)))
    return best.true_score()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--eval-tasks", type=int, default=20)
    parser.add_argument("--children", type=int, default=80)
    args = parser.parse_args()
    medians = {}
    means = {}
    for name in SELECTORS:
        results = [
            simulate(name, s, args.tasks, args.eval_tasks, args.children) for s in range(args.seeds)
        ]
        medians[name] = round(statistics.median(results), 4)
        means[name] = round(statistics.fmean(results), 4)
    print(
        json.dumps(
            {
                "benchmark": "selection_sim",
                "seeds": args.seeds,
                "tasks": args.tasks,
                "eval_tasks": args.eval_tasks,
                "children": args.children,
                "evaluations": (args.children + 1) * args.eval_tasks,
                "median_true_score_of_best": medians,
                "mean_true_score_of_best": means,
            }
        )
    )


if __name__ == "__main__":
    main()

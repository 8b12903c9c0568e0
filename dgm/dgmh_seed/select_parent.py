"""Which agent of the archive is improved next: this agent's own rule, which it may change.

The engine calls `select(summary)` in a sandbox (no network, no files but these, a few
seconds and a few hundred MiB) with the archive as one JSON object:

    {
      "version": 1,
      "parents_wanted": 1,          # how many ids to return (the first ones are used)
      "seed": 1234,                 # use it for random draws, so a run can be repeated
      "agents": [                   # every agent that can be a parent, oldest first
        {
          "id": "...",              # the id to return
          "parent": "..." | null,   # the agent it was made from (null: the first agent)
          "score": 0.4,             # the fraction of its tasks it resolved (0 to 1)
          "children": 2,            # its children admitted to the archive
          "resolved": 4,            # tasks it resolved
          "evaluated": 10,          # tasks it ran
          "tasks": {"task-id": true, ...}   # each task it ran: resolved or not
        }
      ]
    }

It returns a list of agent ids taken from `agents`. Anything else (an error, a list with
an unknown id, no answer in time) makes the engine use DGM's rule for this choice.

The rule below is DGM's: an agent is drawn with probability proportional to
sigmoid(10 * (score - 0.5)) / (1 + children).
"""

import math
import random


def weight(agent):
    score = agent["score"] or 0.0
    return 1.0 / (1.0 + math.exp(-10.0 * (score - 0.5))) / (1 + agent["children"])


def select(summary):
    agents = summary["agents"]
    rng = random.Random(summary["seed"])
    weights = [weight(a) for a in agents]
    if sum(weights) <= 0:
        weights = [1.0] * len(agents)
    picks = rng.choices(agents, weights=weights, k=summary["parents_wanted"])
    return [a["id"] for a in picks]

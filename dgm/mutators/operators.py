"""The operators: every way of making a child, registered once by short name.

`OPERATORS` is the one table. The config's `operator` field is checked against it, and its
description and `dgm run --help` list each entry's summary. An entry says how many
parents the operator takes (the loop selects that many and records the second one) and
names its factory, "module:function", which builds the operator from what a session
offers (`dgm.mutators.factories.OperatorNeeds`). The table names its factories rather than
importing them: reading it (for `--help`, or to validate a config) imports nothing heavy,
and the config, which reads the table, stays below the factories, which read the config.

To add an operator: a module with a class satisfying `dgm.mutators.Mutator`, a factory
(dgm/mutators/factories.py) and one `register(Operator(...))` below. A crossover
registers `parents=2` and finds both parents in `MutationContext.parents`. An operator
that evolves a program against a problem rather than an agent against a suite reads the
problem's statement from `MutationContext.problem_statements` (keyed by the problem's id)
and each evaluation's `score` and feedback from its `EvalView`s: no other table is needed.
Its factory finds the loaded problem in `OperatorNeeds.problem`, and the archive, run id
and `open_chat` there too (see dgm/problem_run.py for the whole recipe). An operator that
picks its own parents (ReEvo's generations) implements `dgm.loop.Schedule`. An operator
whose programs are not the problem's own (STOP's improvers) names a `seed` and a `scorer`
hook: the run starts from that seed and scores its programs with that scorer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Operator:
    name: str
    summary: str  # one line, shown in the config's description and `dgm run --help`
    build: str  # its factory, "module:function" (a dgm.mutators.factories.OperatorFactory)
    parents: int = 1  # parents selected for each child: 2 for a crossover
    # What it evolves: coding agents on a suite, a problem's programs (--problem), or both.
    evolves: Literal["agents", "programs", "both"] = "agents"
    # Hooks of an operator whose programs are not the problem's (STOP's improvers),
    # "module:function": the seed program (a SeedHook) and what scores a program in the
    # place of the problem's evaluator (a ScorerHook). None: the problem's own.
    seed: str | None = None
    scorer: str | None = None
    local_only: str = ""  # why its runs cannot use the ray executor ("": they can)
    # An operator that reads files of its own in every agent (DGM-H's instructions and
    # selector): "module:function" adding them to a suite run's seed (an AgentFilesHook).
    agent_files: str | None = None


OPERATORS: dict[str, Operator] = {}


def register(operator: Operator) -> Operator:
    if operator.name in OPERATORS:
        raise ValueError(f"operator {operator.name!r} is registered twice")
    if operator.parents < 1:
        raise ValueError(f"operator {operator.name!r}: parents must be at least 1")
    OPERATORS[operator.name] = operator
    return operator


def describe() -> str:
    """'name (summary), ...' for help texts."""
    return "; ".join(f"{op.name} ({op.summary})" for op in OPERATORS.values())


register(
    Operator(
        "self_modify",
        "DGM: the parent agent edits its own code, guided by a diagnosis of one of its failures",
        "dgm.mutators.factories:self_modify",
    )
)
register(
    Operator(
        "diff",
        "the LLM edits the parent's code directly with SEARCH/REPLACE blocks",
        "dgm.mutators.factories:diff",
        evolves="both",
    )
)
register(
    Operator(
        "reevo",
        "ReEvo: a problem's program, by reflective crossover of two parents and elitist mutation",
        "dgm.mutators.factories:reevo",
        parents=2,
        evolves="programs",
    )
)


register(
    Operator(
        "line_edit",
        "the LLM changes one line (or a few in a row) of the parent's code, as JSON under a schema",
        "dgm.mutators.factories:line_edit",
        evolves="both",
    )
)
register(
    Operator(
        "stop",
        "STOP: the parent improver improves its own source, with the meta-utility as its utility",
        "dgm.stop:build_mutator",
        evolves="programs",
        seed="dgm.stop:seed_files",
        scorer="dgm.stop:build_scorer",
        local_only=(
            "serves its improvers' utility and model calls on a Unix socket in the "
            "driver's process, which sandboxes on other nodes cannot mount"
        ),
    )
)
register(
    Operator(
        "dgmh",
        "DGM-H: the parent agent edits its own code by its own instructions; the newest agent's own selector picks parents",
        "dgm.dgmh:build",
        agent_files="dgm.dgmh:with_procedure",
    )
)

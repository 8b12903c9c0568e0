"""The operators: every way of making a child, registered once by short name.

`OPERATORS` is the one table. The config's `operator` field is checked against it, and its
description and `dgm run --help` list each entry's summary. An entry says how many
parents the operator takes (the loop selects that many and records the second one) and
builds the operator from what a session offers (`OperatorNeeds`); a factory imports its
module only when it is called, so reading the table (for `--help`, or to validate a
config) imports nothing heavy.

To add an operator: a module with a class satisfying `dgm.mutators.Mutator`, and one
`register(Operator(...))` below. A crossover registers `parents=2` and finds both parents
in `MutationContext.parents`. An operator that evolves a program against a problem rather
than an agent against a suite reads the problem's statement from
`MutationContext.problem_statements` (keyed by the problem's id) and each evaluation's
`score` and feedback from its `EvalView`s: no other table is needed. Its factory finds the
loaded problem in `OperatorNeeds.problem`, and the archive, run id and `open_chat` there too
(see dgm/problem_run.py for the whole recipe). An operator that picks its own parents
(ReEvo's generations) implements `dgm.loop.Schedule`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # only for types: importing these here would be a cycle (config) or slow
    from benchmarks.problems import Problem
    from dgm.config import RunConfig
    from dgm.llm.gateway import Gateway
    from dgm.mutators import Chat, Mutator
    from sandbox import SandboxBackend


@dataclass(frozen=True)
class OperatorNeeds:
    """What a session offers an operator's factory; each factory takes what it needs."""

    config: RunConfig
    backend: SandboxBackend  # for operators that run untrusted code (the parent agent itself)
    gateway: Gateway  # started; every LLM call of a sandboxed run goes through it
    problem: Problem | None = None  # a problem run's problem (None: agents on a suite)
    archive: Any = None  # the run's Archive, for an operator that keeps state across resumes
    run_id: str | None = None
    # A Chat for a model (None: the run's) at a temperature, through a gateway of the run.
    open_chat: Callable[[str | None, float], Chat] | None = None


@dataclass(frozen=True)
class Operator:
    name: str
    summary: str  # one line, shown in the config's description and `dgm run --help`
    build: Callable[[OperatorNeeds], Mutator]
    parents: int = 1  # parents selected for each child: 2 for a crossover
    # What it evolves: coding agents on a suite, a problem's programs (--problem), or both.
    evolves: Literal["agents", "programs", "both"] = "agents"


OPERATORS: dict[str, Operator] = {}


def register(operator: Operator) -> Operator:
    if operator.name in OPERATORS:
        raise ValueError(f"operator {operator.name!r} is registered twice")
    if operator.parents < 1:
        raise ValueError(f"operator {operator.name!r}: parents must be at least 1")
    OPERATORS[operator.name] = operator
    return operator


def build_operator(needs: OperatorNeeds) -> Mutator:
    """The operator `needs.config.operator` names (the config validated the name)."""
    return OPERATORS[needs.config.operator].build(needs)


def describe() -> str:
    """'name (summary), ...' for help texts."""
    return "; ".join(f"{op.name} ({op.summary})" for op in OPERATORS.values())


def _self_modify(needs: OperatorNeeds) -> Mutator:
    from dgm.mutators.self_modify import SelfModifier, SelfModifyMutator

    c = needs.config
    runner = SelfModifier(
        needs.backend,
        needs.gateway,
        c.self_modify_limits.sandbox(),
        max_steps=c.self_modify_limits.max_steps,
    )
    return SelfModifyMutator(
        runner, diagnosis_retries=c.diagnosis_retries, max_chars=c.prompt_chars
    )


def _diff(needs: OperatorNeeds) -> Mutator:
    from dgm.mutators.diff import DiffMutator

    return DiffMutator(max_tries=needs.config.diff_max_tries, max_chars=needs.config.prompt_chars)


register(
    Operator(
        "self_modify",
        "DGM: the parent agent edits its own code, guided by a diagnosis of one of its failures",
        _self_modify,
    )
)


def _reevo(needs: OperatorNeeds) -> Mutator:
    from dgm.errors import UserError
    from dgm.mutators.reevo import ReEvoOperator, ReEvoSchedule

    if needs.problem is None or needs.open_chat is None or needs.run_id is None:
        raise UserError("the reevo operator evolves a problem's program: give --problem PATH")
    r = needs.config.reevo
    schedule = ReEvoSchedule(r.init_pop_size, r.pop_size, r.mutation_rate)
    # ReEvo samples at temperature 1, and its initial population 0.3 hotter for diversity.
    return ReEvoOperator(
        needs.problem,
        needs.archive,
        needs.run_id,
        schedule,
        generator=needs.open_chat(None, 1.0),
        reflector=needs.open_chat(r.reflector_model, 1.0),
        init_generator=needs.open_chat(None, 1.3),
    )


register(
    Operator(
        "diff",
        "the LLM edits the parent's code directly with SEARCH/REPLACE blocks",
        _diff,
        evolves="both",
    )
)
register(
    Operator(
        "reevo",
        "ReEvo: a problem's program, by reflective crossover of two parents and elitist mutation",
        _reevo,
        parents=2,
        evolves="programs",
    )
)


def _line_edit(needs: OperatorNeeds) -> Mutator:
    from dgm.mutators.chat import GatewayChat
    from dgm.mutators.line_edit import LineEditMutator

    s = needs.config.line_edit
    # Sampled, so that a refused edit's retry and two children of one parent differ.
    chat = (
        needs.open_chat(None, s.temperature)
        if needs.open_chat is not None
        else GatewayChat(needs.gateway, temperature=s.temperature)
    )
    problem = needs.problem
    return LineEditMutator(
        chat,
        main_file=problem.main_file if problem is not None else None,
        direction=problem.direction if problem is not None else None,
        max_lines=s.max_lines,
        tries=s.tries,
        max_chars=needs.config.prompt_chars,
    )


register(
    Operator(
        "line_edit",
        "the LLM changes one line (or a few in a row) of the parent's code, as JSON under a schema",
        _line_edit,
        evolves="both",
    )
)


def _stop(needs: OperatorNeeds) -> Mutator:
    from dgm.stop import build_mutator

    return build_mutator(needs)


register(
    Operator(
        "stop",
        "STOP: the parent improver improves its own source, with the meta-utility as its utility",
        _stop,
        evolves="programs",
    )
)

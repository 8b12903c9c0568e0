"""What the archive hands out: immutable snapshots, never ORM objects tied to a session;
and the one definition of every status and error kind it stores (the engine, the
evaluator and the CLI use these; the archive refuses anything else)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, get_args

RunStatus = Literal["running", "stopped", "finished", "failed"]

AgentStatus = Literal[
    "pending",  # stored, not evaluated yet
    "evaluating",  # its first evaluation has started
    "evaluated",  # every stage it entered is done and it was admitted: a parent candidate
    "rejected",  # never a parent: broken code before evaluation, or below keep_better's floor
    "failed",  # could not be evaluated at all
]

ErrorKind = Literal[
    # the agent's run (dgm/evaluator.py)
    "agent_timeout",  # stopped at its deadline
    "agent_oom",  # killed for memory
    "agent_killed",  # killed by a signal (e.g. an output flood)
    "agent_crash",  # exited non-zero
    # grading (benchmarks/grading.py: its ErrorKind is a subset of this one)
    "empty_patch",  # the agent changed nothing
    "patch_failed",  # the patch or the test patch did not apply
    "timeout",  # the tests ran past their deadline
    # either
    "sandbox_error",  # the sandbox broke; the outcome is unknown
    # the engine
    "engine_error",  # the evaluation raised; its message is in the logs
    "context_length",  # the agent ran out of the model's context window
    # a problem's evaluator (benchmarks/problems)
    "problem_failed",  # no valid score: a crash, a deadline, a non-finite score...; why is in the logs
]
"""Why an evaluation went wrong (None: it ran and was graded normally)."""

Direction = Literal["min", "max"]


def objective(score: float | None, direction: str | None) -> float | None:
    """A problem's raw primary score from an agent's stored fitness (higher is better):
    the archive negates a 'min' problem's score so that every ordering stays 'higher wins'."""
    if score is None or direction != "min":
        return score
    return -score


RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
AGENT_STATUSES: tuple[AgentStatus, ...] = get_args(AgentStatus)
ERROR_KINDS: tuple[ErrorKind, ...] = get_args(ErrorKind)


class CandidateStats(NamedTuple):
    """What a selector needs about one agent. A NamedTuple (immutable, cheap to build)
    because `candidate_stats` returns one per agent of a run, 100k of them in one call."""

    agent_id: str
    parent_id: str | None
    generation: int
    status: AgentStatus
    score: float | None  # the score of the last stage recorded (the furthest stage reached)
    n_children: int
    n_resolved: int  # over all its evaluations, every stage and attempt
    n_evaluated: int


@dataclass(frozen=True, slots=True)
class RunInfo:
    id: str
    name: str
    kind: str
    status: RunStatus
    config: dict[str, Any]
    seed: int | None
    totals: dict[str, Any]
    created_at: float  # seconds since the epoch, UTC
    updated_at: float
    finished_at: float | None
    direction: Direction | None = None  # a problem run's; None for a suite


@dataclass(frozen=True, slots=True)
class RunSummary:
    id: str
    name: str
    kind: str
    status: RunStatus
    created_at: float
    finished_at: float | None
    n_agents: int
    n_evaluated: int  # agents with status "evaluated"
    best_score: float | None
    best_agent_id: str | None
    cost_usd: float  # every LLM call recorded for the run
    direction: Direction | None = None  # a problem run's (best_score is its fitness)
    reason: str | None = None  # why it stopped or failed before running (totals["reason"])


@dataclass(frozen=True, slots=True)
class AgentInfo:
    id: str
    run_id: str
    parent_id: str | None
    second_parent_id: str | None
    generation: int
    operator: str
    status: AgentStatus
    reason: str | None  # why it was rejected or failed
    score: float | None  # the last stage's score
    scores: dict[str, float]  # per stage, in the order they were recorded
    n_children: int
    n_evaluated: int
    n_resolved: int
    cost_usd: float
    files_changed: int  # diff stat against the parent
    lines_added: int
    lines_removed: int
    created_at: float
    origin: dict[str, Any] | None = field(default=None)  # filled by `Archive.agent` only


@dataclass(frozen=True, slots=True)
class EvaluationRow:
    """An evaluation without its bodies (tests, patch, logs, trajectory): what a listing
    reads (archive.ui_queries.evaluation_rows)."""

    seq: int
    task_id: str
    attempt: int
    stage: str
    resolved: bool
    score: float | None
    duration_s: float
    error_kind: ErrorKind | None
    has_trajectory: bool


@dataclass(frozen=True, slots=True)
class EvaluationInfo(EvaluationRow):
    """An evaluation with its bodies."""

    id: str  # "<agent id>/<seq>"
    agent_id: str
    tests: dict[str, str]
    patch: bytes
    logs: bytes
    trajectory: bytes
    metrics: dict[str, float] = field(default_factory=dict)  # a problem evaluator's
    node: str | None = None  # the executor node it ran on (None: the driver's machine)


@dataclass(frozen=True, slots=True)
class LLMCallRecord:
    """One LLM call as the gateway hands it to `Archive.record_llm_call`."""

    run_id: str | None
    agent_id: str | None
    task_id: str | None
    purpose: str
    model: str
    tokens_in: int
    tokens_out: int
    cost_usd: float
    latency_s: float
    request: bytes
    response: bytes | None
    error_kind: str | None
    request_key: str


@dataclass(frozen=True, slots=True)
class LLMCallInfo(LLMCallRecord):
    """A stored LLM call: the record, its id and when it was stored."""

    id: str
    created_at: float


@dataclass(frozen=True, slots=True)
class ReflectionInfo:
    run_id: str
    kind: str  # "short" (one pair's) or "long" (accumulated)
    generation: int
    iteration: int
    text: str
    agents: list[str]  # short: [worse, better]; long: the elite it guides
    created_at: float


@dataclass(frozen=True, slots=True)
class EventInfo:
    id: int
    run_id: str
    kind: str
    payload: dict[str, Any]
    created_at: float

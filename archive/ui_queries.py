"""The web UI's own read-only queries (SQLAlchemy, on `Archive.reading`): small,
indexed, never a full load.

The store's queries serve the engine and the CLI, and the browsing queries
(archive/browsing.py) the listing commands; these add what a page that is polled every
few seconds needs: a cheap "has anything changed" fingerprint, the tail of the event
log, cost bucketed in SQL, and one evaluation or LLM call with its bodies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, cast, func, select

from archive import browsing
from archive.errors import ArchiveError
from archive.info import EvaluationInfo, EvaluationRow, EventInfo, LLMCallInfo
from archive.models import Agent, Evaluation, Event, LLMCall, Run, Task
from archive.store import Archive, llm_call_info


@dataclass(frozen=True, slots=True)
class CostBucket:
    start: float  # seconds since the run started
    usd: float
    calls: int


def run_fingerprint(archive: Archive, run_id: str) -> tuple[Any, ...]:
    """Changes whenever anything shown about the run changes (each part is an index lookup)."""
    with archive.reading() as conn:
        run = conn.execute(
            select(Run.pk, Run.status, Run.updated_at).where(Run.id == run_id)
        ).first()
        if run is None:
            raise ArchiveError(f"no run {run_id!r} in this archive")
        agents = conn.execute(
            select(func.count(), func.max(Agent.stats_seq)).where(Agent.run_pk == run.pk)
        ).one()
        event = conn.execute(select(func.max(Event.pk)).where(Event.run_pk == run.pk)).scalar()
        call = conn.execute(select(func.max(LLMCall.pk)).where(LLMCall.run_pk == run.pk)).scalar()
    return (run.status, run.updated_at, agents[0], agents[1], event, call)


def archive_fingerprint(archive: Archive) -> tuple[Any, ...]:
    """Changes whenever the list of runs would show something new."""
    with archive.reading() as conn:
        runs = conn.execute(select(Run.pk, Run.status, Run.updated_at).order_by(Run.pk)).all()
        seqs = conn.execute(
            select(Agent.run_pk, func.max(Agent.stats_seq)).group_by(Agent.run_pk)
        ).all()
        call = conn.execute(select(func.max(LLMCall.pk))).scalar()
    return (tuple(map(tuple, runs)), tuple(map(tuple, seqs)), call)


def recent_events(
    archive: Archive, run_id: str, limit: int, kinds: list[str] | None = None
) -> list[EventInfo]:
    """The run's newest events, newest first."""
    with archive.reading() as conn:
        q = select(Event).where(Event.run_pk == archive.run_pk(conn, run_id))
        if kinds is not None:
            q = q.where(Event.kind.in_(kinds))
        rows = conn.execute(q.order_by(Event.pk.desc()).limit(limit)).all()
    return [
        EventInfo(r.pk, run_id, r.kind, browsing.loads(r.payload, f"event {r.pk}"), r.created_at)
        for r in rows
    ]


def count_events(archive: Archive, run_id: str, kind: str) -> int:
    with archive.reading() as conn:
        q = select(func.count()).where(
            Event.run_pk == archive.run_pk(conn, run_id), Event.kind == kind
        )
        return int(conn.execute(q).scalar() or 0)


def count_rejected(archive: Archive, run_id: str, reason_prefix: str) -> int:
    """The run's rejected agents whose reason starts with `reason_prefix`."""
    with archive.reading() as conn:
        q = select(func.count()).where(
            Agent.run_pk == archive.run_pk(conn, run_id),
            Agent.status == "rejected",
            Agent.reason.startswith(reason_prefix, autoescape=True),
        )
        return int(conn.execute(q).scalar() or 0)


def cost_buckets(
    archive: Archive, run_id: str, start: float, buckets: int = 120
) -> list[CostBucket]:
    """The run's LLM spending summed per time bucket, computed by the database."""
    with archive.reading() as conn:
        run_pk = archive.run_pk(conn, run_id)
        span = conn.execute(
            select(func.max(LLMCall.created_at)).where(LLMCall.run_pk == run_pk)
        ).scalar()
        if span is None:
            return []
        width = max((span - start) / buckets, 1e-3)
        bucket = cast((LLMCall.created_at - start) / width, Integer).label("b")
        rows = conn.execute(
            select(bucket, func.sum(LLMCall.cost_usd), func.count())
            .where(LLMCall.run_pk == run_pk)
            .group_by(bucket)
            .order_by(bucket)
        ).all()
    return [CostBucket(max(b, 0) * width, float(usd or 0.0), int(n)) for b, usd, n in rows]


def second_parents(archive: Archive, agent_ids: list[str]) -> dict[str, str]:
    """{agent: its second parent} for those of `agent_ids` that have one (crossover)."""
    if not agent_ids:
        return {}
    with archive.reading() as conn:
        rows = conn.execute(
            select(Agent.id, Agent.second_parent_id).where(
                Agent.id.in_(agent_ids), Agent.second_parent_id.is_not(None)
            )
        ).all()
    return {a: b for a, b in rows}


def evaluation_rows(archive: Archive, agent_id: str) -> list[EvaluationRow]:
    """The agent's evaluations in order, without reading any body."""
    with archive.reading() as conn:
        agent = archive.agent_row(conn, agent_id)
        rows = conn.execute(
            select(Evaluation, Task.name.label("task_name"))
            .join(Task, Task.pk == Evaluation.task_pk)
            .where(Evaluation.agent_pk == agent.pk)
            .order_by(Evaluation.seq)
        ).all()
    for r in rows:
        numbers = {"score": r.score, "duration_ms": r.duration_ms, "attempt": r.attempt}
        browsing.sane(f"evaluation {agent_id}/{r.seq}", numbers, "", ("",))
    return [
        EvaluationRow(
            r.seq,
            r.task_name,
            r.attempt,
            r.stage,
            r.resolved,
            r.score,
            r.duration_ms / 1000,
            r.error_kind,
            r.trajectory_pk is not None,
        )
        for r in rows
    ]


def evaluation(archive: Archive, agent_id: str, seq: int) -> EvaluationInfo:
    """One evaluation with its tests, patch, logs and trajectory."""
    found = archive.evaluations(agent_id, seq=seq)
    if not found:
        raise ArchiveError(f"agent {agent_id!r} has no evaluation {seq}")
    return found[0]


def llm_call(archive: Archive, call_id: str) -> LLMCallInfo:
    """One LLM call with its request and response."""
    with archive.reading() as conn:
        r = conn.execute(
            select(LLMCall, Agent.id.label("agent_id"), Run.id.label("run_id"))
            .outerjoin(Agent, Agent.pk == LLMCall.agent_pk)
            .outerjoin(Run, Run.pk == LLMCall.run_pk)
            .where(LLMCall.id == call_id)
        ).first()
        if r is None:
            raise ArchiveError(f"no LLM call {call_id!r} in this archive")
        raw = archive.blobs.get_many(
            conn, [pk for pk in (r.request_pk, r.response_pk) if pk is not None]
        )
    return llm_call_info(r, r.run_id, raw)

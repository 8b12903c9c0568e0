"""The archive's tables (SQLAlchemy 2.x declarative models).

Design points, because they decide the size of a 100k-agent archive:
- Public ids (runs, agents, LLM calls) are 16 random hex characters; the high-volume
  tables refer to agents and blobs by small integer keys, which SQLite stores as 1-4 bytes.
- Code, patches, logs, trajectories, per-test results and LLM requests/responses are
  content-addressed blobs (see `codestore`). An agent points at one manifest blob.
- Counters a selector needs (children, evaluations, resolved) live on the agent row and
  are updated in the same transaction as the row that changes them, so that
  `candidate_stats` is a single scan of the run's agents.
- Times are float seconds since the epoch (UTC).

The schema is created and changed only by the alembic migrations in `archive/migrations`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Blob(Base):
    """One distinct content, zlib-compressed, optionally as a delta against `base_pk`.

    A delta is zlib with the base's raw bytes as preset dictionary; `depth` counts the
    chain so that reading a blob never decompresses more than `codestore.MAX_DEPTH + 1`.
    """

    __tablename__ = "blobs"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)  # sha256 of the raw bytes
    size: Mapped[int] = mapped_column(Integer)  # raw size in bytes
    base_pk: Mapped[int | None] = mapped_column(ForeignKey("blobs.pk"))
    depth: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Run(Base):
    __tablename__ = "runs"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    config: Mapped[str] = mapped_column(Text)  # JSON, as given
    seed: Mapped[int | None] = mapped_column(BigInteger)
    # A problem run's score direction ('min' or 'max'); None for a suite (resolved fraction).
    direction: Mapped[str | None] = mapped_column(String(3))
    totals: Mapped[str] = mapped_column(Text)  # JSON
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float)


class Agent(Base):
    __tablename__ = "agents"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[str] = mapped_column(String(16), unique=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.pk"))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id"))
    second_parent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id"))
    generation: Mapped[int] = mapped_column(Integer)
    operator: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    # The last stage's score: the fitness, higher is better. A suite's resolved fraction; a
    # problem's primary score, negated when the run's direction is 'min' (see info.objective).
    score: Mapped[float | None] = mapped_column(Float)
    scores: Mapped[str] = mapped_column(Text)  # JSON {stage: score}
    n_children: Mapped[int] = mapped_column(Integer)
    n_evaluated: Mapped[int] = mapped_column(Integer)
    n_resolved: Mapped[int] = mapped_column(Integer)
    cost_usd: Mapped[float] = mapped_column(Float)  # sum of the LLM calls attributed to it
    manifest_pk: Mapped[int] = mapped_column(ForeignKey("blobs.pk"))
    origin_pk: Mapped[int | None] = mapped_column(ForeignKey("blobs.pk"))  # JSON blob
    files_changed: Mapped[int] = mapped_column(Integer)  # diff stat against the parent
    lines_added: Mapped[int] = mapped_column(Integer)
    lines_removed: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)
    # Bumped (per run) by every write that changes the agent's CandidateStats; see
    # Archive.candidate_stats.
    stats_seq: Mapped[int] = mapped_column(Integer, server_default="0")
    # The duplicate check's key of the agent's normalised code (dgm/novelty.py), when the
    # run's check was on at admission: a resume rebuilds its index from these.
    content_key: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (
        Index("ix_agents_run_pk", "run_pk"),
        Index("ix_agents_run_seq", "run_pk", "stats_seq"),
    )


class Task(Base):
    """Task ids seen in evaluations, stored once (evaluation rows point here)."""

    __tablename__ = "tasks"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)


class Evaluation(Base):
    """One agent x task x attempt at one stage. Keyed (agent, seq): no separate index needed;
    on SQLite the table is WITHOUT ROWID, so the key is the storage order."""

    __tablename__ = "evaluations"
    agent_pk: Mapped[int] = mapped_column(ForeignKey("agents.pk"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_pk: Mapped[int] = mapped_column(ForeignKey("tasks.pk"))
    attempt: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(32))
    resolved: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[float | None] = mapped_column(Float)
    duration_ms: Mapped[int] = mapped_column(Integer)
    error_kind: Mapped[str | None] = mapped_column(String(32))
    tests_pk: Mapped[int | None] = mapped_column(ForeignKey("blobs.pk"))  # JSON {test: status}
    patch_pk: Mapped[int | None] = mapped_column(ForeignKey("blobs.pk"))
    logs_pk: Mapped[int | None] = mapped_column(ForeignKey("blobs.pk"))
    trajectory_pk: Mapped[int | None] = mapped_column(ForeignKey("blobs.pk"))
    metrics_pk: Mapped[int | None] = mapped_column(ForeignKey("blobs.pk"))  # JSON {name: float}
    node: Mapped[str | None] = mapped_column(String(64))  # executor node id; NULL: local

    __table_args__ = ({"sqlite_with_rowid": False},)


class LLMCall(Base):
    __tablename__ = "llm_calls"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[str] = mapped_column(String(16), unique=True)
    run_pk: Mapped[int | None] = mapped_column(ForeignKey("runs.pk"))
    agent_pk: Mapped[int | None] = mapped_column(ForeignKey("agents.pk"))
    task_id: Mapped[str | None] = mapped_column(String(300))
    purpose: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    tokens_in: Mapped[int] = mapped_column(Integer)
    tokens_out: Mapped[int] = mapped_column(Integer)
    cost_usd: Mapped[float] = mapped_column(Float)
    latency_s: Mapped[float] = mapped_column(Float)
    request_pk: Mapped[int] = mapped_column(ForeignKey("blobs.pk"))
    response_pk: Mapped[int | None] = mapped_column(ForeignKey("blobs.pk"))
    error_kind: Mapped[str | None] = mapped_column(String(64))
    request_key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        Index("ix_llm_calls_run_pk", "run_pk"),
        Index("ix_llm_calls_agent_pk", "agent_pk"),
        Index("ix_llm_calls_request_key", "request_key"),
    )


class Event(Base):
    __tablename__ = "events"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.pk"))
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)  # JSON
    created_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_events_run_pk", "run_pk"),)


class Reflection(Base):
    """A reflective operator's text (ReEvo's short- and long-term reflections), written when
    it is made so that a resumed run reads back what it had, not a new LLM answer."""

    __tablename__ = "reflections"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.pk"))
    kind: Mapped[str] = mapped_column(String(16))  # "short" or "long"
    generation: Mapped[int] = mapped_column(Integer)
    iteration: Mapped[int] = mapped_column(Integer)  # the iteration that made it
    text: Mapped[str] = mapped_column(Text)
    agents: Mapped[str] = mapped_column(Text)  # JSON list of the agent ids it is about
    created_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        UniqueConstraint("run_pk", "kind", "iteration", name="uq_reflections_run_kind_iter"),
    )


class RunLease(Base):
    """Who runs a run right now: `holder` is host:pid:token, valid until `expires_at` (the
    holder renews it while it lives). See `archive.lease`."""

    __tablename__ = "run_leases"
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.pk"), primary_key=True)
    holder: Mapped[str] = mapped_column(String(300))
    acquired_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)

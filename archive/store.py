"""The archive: the single source of truth of every run, behind a small query API.

Every public method is one short transaction: when it returns, what it wrote is committed
(durably: see `archive.db`). An `Archive` may be shared by threads; several processes may
open the same archive at once. Methods take full ids; `resolve_run` / `resolve_agent`
turn a typed prefix into one.
"""

from __future__ import annotations

import json
import math
import secrets
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from itertools import count
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Integer, Table, bindparam, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from archive import browsing, diffs, lease
from archive.codestore import (
    MANIFEST_MAX_DEPTH,
    PENDING,
    BlobCache,
    BlobStore,
    check_path,
    decode_manifest,
    dialect_insert,
    encode_manifest,
)
from archive.db import make_engine, prepare, to_url
from archive.errors import ArchiveError, ArchiveFull
from archive.info import (
    AGENT_STATUSES,
    ERROR_KINDS,
    RUN_STATUSES,
    AgentInfo,
    AgentStatus,
    CandidateStats,
    Direction,
    ErrorKind,
    EvaluationInfo,
    EventInfo,
    LLMCallInfo,
    LLMCallRecord,
    ReflectionInfo,
    RunStatus,
)
from archive.lease import LeaseHeld, LeaseInfo
from archive.models import Agent, Evaluation, Event, LLMCall, Reflection, Run, RunLease, Task

ID_CHARS = browsing.ID_CHARS


RUN_PK = select(Run.pk).where(Run.id == bindparam("id"))
# The writes of the engine's every iteration, built once on the tables (not the ORM
# classes): building a statement and its cache key per call cost more than running it.
AGENTS = cast(Table, Agent.__table__)
_SAME_RUN = AGENTS.alias("same_run")
# stats_seq: every write to an agent row sets it to its run's highest + 1, computed inside
# that write's own statement (in its transaction, as a separate SELECT would be, one round
# trip fewer). NEXT_SEQ is for an UPDATE of one agent row, correlated to its run.
NEXT_SEQ = (
    select(func.coalesce(func.max(_SAME_RUN.c.stats_seq), 0) + 1)
    .where(_SAME_RUN.c.run_pk == AGENTS.c.run_pk)
    .scalar_subquery()
)
INSERT_AGENT = (
    insert(AGENTS)
    .values(
        stats_seq=select(func.coalesce(func.max(_SAME_RUN.c.stats_seq), 0) + 1)
        .where(_SAME_RUN.c.run_pk == bindparam("seq_run_pk"))
        .scalar_subquery()
    )
    .returning(AGENTS.c.stats_seq)
)
COUNT_CHILD = (
    update(AGENTS)
    .where(AGENTS.c.pk.in_(bindparam("parent_pks", expanding=True)))
    .values(n_children=AGENTS.c.n_children + 1, stats_seq=bindparam("seq"))
)
SET_STATUS = (
    update(AGENTS)
    .where(AGENTS.c.id == bindparam("agent_id"))
    .values(status=bindparam("new_status"), reason=bindparam("new_reason"), stats_seq=NEXT_SEQ)
)
SCORES_ROW = select(AGENTS.c.pk, AGENTS.c.scores).where(AGENTS.c.id == bindparam("agent_id"))
SCORES_ROW_LOCKED = SCORES_ROW.with_for_update()  # PostgreSQL; SQLite's write lock is held
SET_SCORE = (
    update(AGENTS)
    .where(AGENTS.c.pk == bindparam("agent_pk"))
    .values(score=bindparam("new_score"), scores=bindparam("new_scores"), stats_seq=NEXT_SEQ)
)
COUNT_EVALUATIONS = (
    update(AGENTS)
    .where(AGENTS.c.id == bindparam("agent_id"))
    .values(
        n_evaluated=AGENTS.c.n_evaluated + bindparam("n_new", type_=Integer),
        n_resolved=AGENTS.c.n_resolved + bindparam("n_new_resolved", type_=Integer),
        stats_seq=NEXT_SEQ,
    )
    .returning(AGENTS.c.pk, AGENTS.c.n_evaluated)
)
EVALUATIONS_OF = (
    select(Evaluation, Task.name.label("task_name"))
    .join(Task, Task.pk == Evaluation.task_pk)
    .where(Evaluation.agent_pk == bindparam("agent_pk"))
    .order_by(Evaluation.seq)
)
EVALUATION_OF = EVALUATIONS_OF.where(Evaluation.seq == bindparam("seq"))
INSERT_EVALUATIONS = insert(cast(Table, Evaluation.__table__))
INSERT_EVENT = insert(cast(Table, Event.__table__))


AGENT_ROW = select(Agent).where(Agent.id == bindparam("id"))
KEYS_PENDING = "dgm_archive_keys_to_cache"  # key in Connection.info: (cache, name, pk)
TASKS_BY_NAME = select(Task.name, Task.pk).where(Task.name.in_(bindparam("names", expanding=True)))


def new_id() -> str:
    return secrets.token_hex(ID_CHARS // 2)


def open_archive(
    url_or_path: str | Path, create: bool = True, durable: bool = False, read_only: bool = False
) -> Archive:
    """Open (and when `create`, create or migrate) the archive at a path or SQLAlchemy URL.

    A plain path is a SQLite file; its parent directories are made. Raises ArchiveError
    (one line) for a missing archive when not `create`, a file that is not a database or
    is corrupt, or a schema newer than this code. Every committed write survives the
    process being killed (kill -9 included); `durable=True` (SQLite only) also makes it
    survive a power cut, at an fsync per commit (about 3x the engine's per-child cost).
    `read_only=True` never writes, not even to migrate: every write raises ArchiveError,
    and an archive of an older schema is refused with the command that upgrades it.
    """
    return Archive(url_or_path, create=create, durable=durable, read_only=read_only)


def _dumps(value: Any, what: str) -> str:
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ArchiveError(f"{what} must be JSON-serialisable: {e}") from None


def _check_status(status: str, allowed: tuple[str, ...], what: str) -> None:
    if status not in allowed:
        raise ArchiveError(f"unknown {what} status {status!r}: use one of {', '.join(allowed)}")


def _check_error_kind(kind: object) -> None:
    if kind is not None and kind not in ERROR_KINDS:
        raise ArchiveError(
            f"unknown error kind {kind!r}: use one of {', '.join(ERROR_KINDS)} (archive.info.ErrorKind)"
        )


def disk_full(url: str, detail: str) -> str | None:
    """The one line for a write that failed because the archive's disk is full (SQLite
    says "disk I/O error" when the journal cannot grow), or None when it is not that."""
    import shutil

    from archive.sqlite_file import sqlite_file

    path = sqlite_file(url)
    if path is None or not ("disk" in detail or "full" in detail):
        return None
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        return None
    if free > 1 << 20 and "full" not in detail:  # room left: some other I/O error
        return None
    return (
        f"archive error: the disk holding {path} (mounted at {mount_point(path)}) is full "
        f"({free // 1024} KiB free): the archive is intact; free some space, then resume "
        "(`dgm run --resume RUN`)"
    )


def mount_point(path: Path) -> Path:
    """The mount point of the filesystem holding `path`: the disk a user must free."""
    import os

    here = path.resolve().parent
    while not os.path.ismount(here) and here != here.parent:
        here = here.parent
    return here


# An LLM call's fields stored as they are (run, agent and bodies are stored as keys).
LLM_CALL_COLUMNS = (
    "task_id",
    "purpose",
    "model",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "latency_s",
    "error_kind",
    "request_key",
)


def _as_bytes(value: str | bytes | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


class Archive(browsing.Browsing):
    def __init__(
        self,
        url_or_path: str | Path,
        create: bool = True,
        durable: bool = False,
        read_only: bool = False,
    ) -> None:
        self.url = to_url(url_or_path)
        self.read_only = read_only
        try:
            self.engine = make_engine(self.url, durable, read_only)
        except (SQLAlchemyError, ImportError) as e:
            raise ArchiveError(
                f"cannot open archive {url_or_path}: {str(e).splitlines()[0]}"
            ) from None
        try:
            prepare(self.engine, self.url, create and not read_only, migrate=not read_only)
        except ArchiveError:
            self.engine.dispose()
            raise
        self.blobs = BlobStore(BlobCache())
        # run pk -> (highest stats_seq seen, {agent pk: CandidateStats}); see candidate_stats
        self._stats: dict[int, tuple[int, dict[int, CandidateStats]]] = {}
        self._stats_lock = threading.Lock()
        # run id -> pk and task name -> pk, filled only after a commit (a rolled-back key
        # may be reused). Runs and tasks are never deleted or renumbered (nothing deletes
        # from either table), so a key once seen stays right for this archive.
        self._run_pks: dict[str, int] = {}
        self._task_pks_seen: dict[str, int] = {}

    def close(self) -> None:
        self.engine.dispose()

    # -- transactions --------------------------------------------------------------

    @contextmanager
    def _tx(self, write: bool) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                if write:
                    conn = conn.execution_options(write=True)
                try:
                    with conn.begin():
                        yield conn
                    self.blobs.committed(conn)
                    for cache, name, pk in conn.info.pop(KEYS_PENDING, ()):
                        cache[name] = pk
                finally:
                    conn.info.pop(PENDING, None)
                    conn.info.pop(KEYS_PENDING, None)
        except ArchiveError:
            raise
        except DBAPIError as e:
            detail = str(e.orig).splitlines()[0] if e.orig is not None else type(e).__name__
            if "database is locked" in detail:
                detail += self._locked_hint()
            full = disk_full(self.url, detail)
            if full:
                raise ArchiveFull(full) from None
            raise ArchiveError(f"archive error: {detail}") from None

    def _locked_hint(self) -> str:
        """Who probably holds SQLite's write lock: the processes running runs (their leases),
        and what to do. Best effort: a reader still gets through while a writer holds it."""
        from archive.db import BUSY_TIMEOUT_MS  # read now: tests shorten it

        try:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(Run.id, RunLease.holder).join(RunLease, RunLease.run_pk == Run.pk)
                ).all()
        except DBAPIError:
            rows = []
        holders = ", ".join(
            f"run {r.id[:8]} by pid {r.holder.rsplit(':', 2)[-2]} on {r.holder.rsplit(':', 2)[0]}"
            for r in rows[:3]
            if r.holder.count(":") >= 2
        )
        who = f"held by {holders}" if holders else "held by another dgm process"
        return (
            f" after waiting {BUSY_TIMEOUT_MS / 1000:g} s ({who}): wait for it to finish or stop it, then "
            "retry; `dgm runs` shows what is running"
        )

    def _write(self) -> Any:
        return self._tx(write=True)

    def reading(self) -> AbstractContextManager[Connection]:
        """A read transaction, for queries beyond this API (archive/ui_queries.py's)."""
        return self._tx(write=False)

    @contextmanager
    def _queries(self) -> Iterator[browsing.Query]:
        with self.reading() as conn:
            yield _query(conn)

    # -- lookups by id ---------------------------------------------------------------

    def run_pk(self, conn: Connection, run_id: str) -> int:
        """The run's primary key (for joins in a transaction of `reading`)."""
        pk = self._run_pks.get(run_id)
        if pk is not None:
            return pk
        pk = conn.execute(RUN_PK, {"id": run_id}).scalar()
        if pk is None:
            raise ArchiveError(f"no run {run_id!r} in this archive")
        _cache_after_commit(conn, self._run_pks, run_id, pk)
        return pk

    def agent_row(self, conn: Connection, agent_id: str) -> Any:
        """The agent's row (for joins in a transaction of `reading`)."""
        row = conn.execute(AGENT_ROW, {"id": agent_id}).first()
        if row is None:
            raise ArchiveError(f"no agent {agent_id!r} in this archive")
        return row

    # -- runs -------------------------------------------------------------------------

    def create_run(
        self,
        name: str,
        kind: str = "evolve",
        config: dict[str, Any] | None = None,
        seed: int | None = None,
        direction: Direction | None = None,
    ) -> str:
        """A new run. `direction`: a problem run's ('min' or 'max'); agents' scores are then
        stored as fitness, negated for 'min' (see `archive.info.objective`)."""
        if not name or not kind:
            raise ArchiveError("a run needs a non-empty name and kind")
        if direction not in (None, "min", "max"):
            raise ArchiveError(f"unknown direction {direction!r}: use min or max")
        run_id, now = new_id(), time.time()
        row = dict(
            id=run_id,
            name=name,
            kind=kind,
            status="running",
            config=_dumps(config or {}, "run config"),
            seed=seed,
            direction=direction,
            totals="{}",
            created_at=now,
            updated_at=now,
            finished_at=None,
        )
        with self._write() as conn:
            conn.execute(insert(Run).values(**row))
        return run_id

    def set_run_status(
        self,
        run_id: str,
        status: RunStatus,
        totals: dict[str, Any] | None = None,
        finished_at: float | None = None,
    ) -> None:
        """Set the status; `totals` are merged into the stored ones. Leaving "running"
        stamps finished_at (now, or the time given: a resume that did no work keeps the
        run's end); going back to "running" (a resume) clears it."""
        _check_status(status, RUN_STATUSES, "run")
        now = time.time()
        with self._write() as conn:
            self.run_pk(conn, run_id)
            old = conn.execute(select(Run.totals).where(Run.id == run_id)).scalar_one()
            merged = {**browsing.loads(old, f"totals of run {run_id}"), **(totals or {})}
            conn.execute(
                update(Run)
                .where(Run.id == run_id)
                .values(
                    status=status,
                    totals=_dumps(merged, "run totals"),
                    updated_at=now,
                    finished_at=None if status == "running" else finished_at or now,
                )
            )

    # -- run leases (one owner per run; see archive.lease) --------------------------------

    def acquire_lease(self, run_id: str, holder: str, ttl_s: float = lease.TTL_S) -> LeaseInfo:
        """Take the run's lease for `holder`, or raise LeaseHeld naming the live holder."""
        for _ in range(3):  # again only if the row vanished (was released) between two reads
            now = time.time()
            with self._write() as conn:
                run_pk = self.run_pk(conn, run_id)
                if lease.try_acquire(conn, run_pk, holder, ttl_s, now):
                    return LeaseInfo(run_id, holder, now, now + ttl_s)
                current = lease.read(conn, run_pk, run_id)
            if current is None:
                continue
            if not lease.dead_here(current):
                raise LeaseHeld(current)
            with self._write() as conn:
                if lease.take_over(conn, run_pk, current.holder, holder, ttl_s, now):
                    return LeaseInfo(run_id, holder, now, now + ttl_s)
                current = lease.read(conn, run_pk, run_id)
            if current is not None:
                raise LeaseHeld(current)
        raise ArchiveError(
            f"could not take the lease of run {run_id}: it changed hands repeatedly; try again"
        )

    def renew_lease(self, run_id: str, holder: str, ttl_s: float = lease.TTL_S) -> bool:
        """Push the lease's expiry on; False when `holder` no longer holds it."""
        with self._write() as conn:
            return lease.renew(conn, self.run_pk(conn, run_id), holder, ttl_s, time.time())

    def release_lease(self, run_id: str, holder: str) -> None:
        with self._write() as conn:
            lease.release(conn, self.run_pk(conn, run_id), holder)

    def run_lease(self, run_id: str) -> LeaseInfo | None:
        """The run's lease row, expired or not (None when nobody has held it or it was released)."""
        with self.reading() as conn:
            return lease.read(conn, self.run_pk(conn, run_id), run_id)

    # -- agents -------------------------------------------------------------------------

    def add_agent(
        self,
        run_id: str,
        files: Mapping[str, bytes],
        parent_id: str | None = None,
        second_parent_id: str | None = None,
        operator: str = "seed",
        origin: dict[str, Any] | None = None,
        status: AgentStatus = "pending",
        reason: str | None = None,
        content_key: str | None = None,
    ) -> str:
        """Store a new agent (its code, content-addressed) and return its id.

        The generation is one more than the older parent's; the diff stat against
        `parent_id` is computed here. `origin` says how it was made (diagnosis, problem
        statement, LLM call ids...), any JSON. A child rejected before evaluation is this
        one write: `status="rejected", reason=...`. `content_key`: the duplicate check's
        key of its code (`content_keys`).
        """
        _check_status(status, AGENT_STATUSES, "agent")
        contents: dict[str, bytes] = {}
        for path, data in files.items():
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise ArchiveError(f"file {path!r} must be bytes, not {type(data).__name__}")
            contents[check_path(path)] = bytes(data)
        origin_json = _dumps(origin, "agent origin") if origin else None
        agent_id, now = new_id(), time.time()
        with self._write() as conn:
            run_pk = self.run_pk(conn, run_id)
            parents = [self.agent_row(conn, p) for p in (parent_id, second_parent_id) if p]
            parent = parents[0] if parent_id else None
            old = self._manifest(conn, parent.manifest_pk) if parent else {}
            manifest, n_changed, added, removed = self._store_files(conn, contents, old)
            # The manifest and the origin in one batch (the origin has no delta base, so the
            # manifests' depth cap is all that applies), stored in the order they always were.
            manifest_pk, *origin_pk = self.blobs.put_many(
                conn,
                [(encode_manifest(manifest), parent.manifest_pk if parent else None)]
                + ([(origin_json.encode(), None)] if origin_json else []),
                max_depth=MANIFEST_MAX_DEPTH,
            )
            seq = conn.execute(
                INSERT_AGENT,
                dict(
                    seq_run_pk=run_pk,
                    id=agent_id,
                    run_pk=run_pk,
                    parent_id=parent_id,
                    second_parent_id=second_parent_id,
                    generation=max((p.generation for p in parents), default=-1) + 1,
                    operator=operator,
                    status=status,
                    reason=reason,
                    score=None,
                    scores="{}",
                    n_children=0,
                    n_evaluated=0,
                    n_resolved=0,
                    cost_usd=0.0,
                    manifest_pk=manifest_pk,
                    origin_pk=origin_pk[0] if origin_pk else None,
                    files_changed=n_changed,
                    lines_added=added,
                    lines_removed=removed,
                    created_at=now,
                    content_key=content_key,
                ),
            ).scalar_one()
            # Children are counted within a run: a bench copy of an agent is not its child
            # for selection purposes.
            same_run = [p.pk for p in parents if p.run_pk == run_pk]
            if same_run:
                conn.execute(COUNT_CHILD, {"parent_pks": same_run, "seq": seq})
        return agent_id

    def _store_files(
        self, conn: Connection, contents: dict[str, bytes], old: dict[str, int]
    ) -> tuple[dict[str, int], int, int, int]:
        """Store the contents not stored yet, each delta-compressed against the parent's
        version of its path. Returns the manifest, and files changed, lines added and
        lines removed against `old`."""
        before = self.blobs.get_many(conn, old.values())  # usually cached: parents recur
        manifest = {
            p: old[p] for p, data in contents.items() if p in old and before[old[p]] == data
        }
        new = [p for p in contents if p not in manifest]
        manifest.update(
            zip(
                new,
                self.blobs.put_many(conn, [(contents[p], old.get(p)) for p in new]),
                strict=True,
            )
        )
        changed = diffs.changed_paths(old, manifest)
        added = removed = 0
        for path in changed:
            a, r = diffs.stat(before.get(old.get(path, -1)), contents.get(path))
            added, removed = added + a, removed + r
        return manifest, len(changed), added, removed

    def _manifest(self, conn: Connection, manifest_pk: int) -> dict[str, int]:
        return decode_manifest(self.blobs.get(conn, manifest_pk))

    def set_agent_status(
        self, agent_id: str, status: AgentStatus, reason: str | None = None
    ) -> None:
        _check_status(status, AGENT_STATUSES, "agent")
        with self._write() as conn:
            done = conn.execute(
                SET_STATUS, {"agent_id": agent_id, "new_status": status, "new_reason": reason}
            )
            if done.rowcount != 1:
                raise ArchiveError(f"no agent {agent_id!r} in this archive")

    def set_agent_score(self, agent_id: str, stage: str, score: float) -> None:
        """Record the score of one stage; the agent's `score` becomes this (the latest) one."""
        if not isinstance(score, (int, float)) or not math.isfinite(score):
            raise ArchiveError(f"score must be a finite number, not {score!r}")
        with self._write() as conn:
            locked = conn.dialect.name == "postgresql"
            row = conn.execute(
                SCORES_ROW_LOCKED if locked else SCORES_ROW, {"agent_id": agent_id}
            ).first()
            if row is None:
                raise ArchiveError(f"no agent {agent_id!r} in this archive")
            scores = browsing.loads(row.scores, f"scores of agent {agent_id}")
            scores.pop(stage, None)  # re-scoring a stage moves it to the end
            scores[stage] = float(score)
            conn.execute(
                SET_SCORE,
                {"agent_pk": row.pk, "new_score": float(score), "new_scores": json.dumps(scores)},
            )

    def agent(self, agent_id: str) -> AgentInfo:
        """Everything about one agent, including how it was made (`origin`)."""
        with self.reading() as conn:
            row = browsing.agent_row(_query(conn), agent_id)
            origin_pk = row["origin_pk"]
            origin = json.loads(self.blobs.get(conn, origin_pk)) if origin_pk is not None else None
        return browsing.agent_info(row, origin)

    def candidate_stats(self, run_id: str) -> list[CandidateStats]:
        """What a selector needs, for every agent of the run, in creation order.

        On SQLite the first call reads the whole run and later calls only the agents whose
        `stats_seq` moved since (writers are serialised there, so the counter commits in
        order and nothing can be missed). PostgreSQL writers commit in any order, so there
        every call reads the whole run.
        """
        with self.reading() as conn:
            run_pk = self.run_pk(conn, run_id)
            incremental = conn.dialect.name == "sqlite"
            with self._stats_lock:
                last, known = self._stats.get(run_pk, (-1, {})) if incremental else (-1, {})
            # A plain DBAPI cursor: plain tuples, no Row objects (100k rows cost ~2x less).
            # The first read scans the run in key order; later ones use the seq index.
            changed = f" AND stats_seq > {int(last)}" if last >= 0 else ""
            cursor = conn.connection.cursor()
            try:
                cursor.execute(
                    "SELECT pk, stats_seq, id, parent_id, generation, status, score, n_children,"
                    f" n_resolved, n_evaluated FROM agents WHERE run_pk = {int(run_pk)}{changed}"
                    " ORDER BY pk"
                )
                rows = cursor.fetchall()
            finally:
                cursor.close()
        if not rows:
            return list(known.values())
        known = dict(known)  # the cached dict is shared with other threads: never mutate it
        make = CandidateStats._make
        for r in rows:  # a score edited by hand into text: one clear error, not a crash later
            if r[6] is not None and type(r[6]) is not float and type(r[6]) is not int:
                browsing.sane(f"agent {r[2]}", {"score": r[6]}, "", ("",))
        for r in rows:
            known[r[0]] = make(r[2:])
            if r[1] > last:
                last = r[1]
        if incremental:
            with self._stats_lock:
                if last > self._stats.get(run_pk, (-1, {}))[0]:
                    self._stats[run_pk] = (last, known)
        return list(known.values())

    # -- code -----------------------------------------------------------------------------

    def content_keys(self, run_id: str) -> dict[str, str]:
        """agent id -> the content key stored at its admission, for the run's agents that
        have one (see `add_agent`)."""
        with self.reading() as conn:
            rows = conn.execute(
                select(Agent.id, Agent.content_key).where(
                    Agent.run_pk == self.run_pk(conn, run_id), Agent.content_key.is_not(None)
                )
            )
            return {agent_id: key for agent_id, key in rows}

    def agent_files(self, agent_id: str) -> dict[str, bytes]:
        with self.reading() as conn:
            return self._files(conn, agent_id)

    def _files(self, conn: Connection, agent_id: str) -> dict[str, bytes]:
        manifest = self._manifest(conn, self.agent_row(conn, agent_id).manifest_pk)
        raw = self.blobs.get_many(conn, manifest.values())
        return {path: raw[pk] for path, pk in manifest.items()}

    def materialize(self, agent_id: str, dest_dir: Path) -> Path:
        """Write the agent's files under `dest_dir` (created; must be empty if it exists)."""
        dest = Path(dest_dir)
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise ArchiveError(f"{dest} exists and is not an empty directory: choose a new one")
        files = self.agent_files(agent_id)
        dest.mkdir(parents=True, exist_ok=True)
        for path, data in files.items():
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return dest

    def diff(self, a_id: str, b_id: str | None = None) -> str:
        """Unified diff from A to B; with one agent, from its parent to it."""
        with self.reading() as conn:
            if b_id is None:
                parent = self.agent_row(conn, a_id).parent_id
                old = self._files(conn, parent) if parent else {}
                return diffs.tree_diff(old, self._files(conn, a_id))
            return diffs.tree_diff(self._files(conn, a_id), self._files(conn, b_id))

    # -- evaluations ----------------------------------------------------------------------

    def record_evaluation(
        self,
        agent_id: str,
        task_id: str,
        attempt: int,
        stage: str,
        resolved: bool,
        score: float | None,
        tests: dict[str, str],
        duration_s: float,
        patch: str | bytes = b"",
        logs: str | bytes = b"",
        error_kind: ErrorKind | None = None,
        trajectory: str | bytes = b"",
        metrics: Mapping[str, float] | None = None,
        node: str | None = None,
    ) -> str:
        """Store one agent x task x attempt result; returns its id "<agent id>/<seq>".
        `metrics`: a problem evaluator's named metrics (finite floats); `node`: the executor
        node it ran on (None: this machine)."""
        return self.record_evaluations(
            agent_id,
            [
                dict(
                    task_id=task_id,
                    attempt=attempt,
                    stage=stage,
                    resolved=resolved,
                    score=score,
                    tests=tests,
                    duration_s=duration_s,
                    patch=patch,
                    logs=logs,
                    error_kind=error_kind,
                    trajectory=trajectory,
                    metrics=metrics,
                    node=node,
                )
            ],
        )[0]

    def record_evaluations(self, agent_id: str, results: Iterable[Mapping[str, Any]]) -> list[str]:
        """Several evaluations of one agent in one transaction (same fields as
        `record_evaluation`, as mappings)."""
        results = list(results)
        for r in results:
            missing = {"task_id", "stage", "resolved"} - r.keys()
            if missing:
                raise ArchiveError(f"an evaluation needs {', '.join(sorted(missing))}")
            _check_error_kind(r.get("error_kind"))
        with self._write() as conn:
            n_resolved = sum(bool(r["resolved"]) for r in results)
            agent = conn.execute(
                COUNT_EVALUATIONS,
                {"agent_id": agent_id, "n_new": len(results), "n_new_resolved": n_resolved},
            ).first()
            if agent is None:
                raise ArchiveError(f"no agent {agent_id!r} in this archive")
            last = agent.n_evaluated
            task_pks = self._task_pks(conn, {str(r["task_id"]) for r in results})
            blobs = self._evaluation_blobs(conn, results)
            rows = []
            for seq, r, refs in zip(count(last - len(results) + 1), results, blobs):
                rows.append(
                    dict(
                        agent_pk=agent.pk,
                        seq=seq,
                        task_pk=task_pks[str(r["task_id"])],
                        attempt=int(r.get("attempt", 0)),
                        stage=str(r["stage"]),
                        resolved=bool(r["resolved"]),
                        score=_score_or_none(r.get("score")),
                        duration_ms=int(round(float(r.get("duration_s", 0.0)) * 1000)),
                        error_kind=r.get("error_kind"),
                        node=r.get("node"),
                        **refs,
                    )
                )
            if rows:
                conn.execute(INSERT_EVALUATIONS, rows)
        return [f"{agent_id}/{row['seq']}" for row in rows]

    def _evaluation_blobs(
        self, conn: Connection, results: list[Mapping[str, Any]]
    ) -> list[dict[str, int | None]]:
        """Store the tests, patch, logs and trajectory of each result in one batch."""
        fields = ("tests_pk", "patch_pk", "logs_pk", "trajectory_pk", "metrics_pk")
        slots: list[tuple[int, str]] = []
        items: list[tuple[bytes, None]] = []
        for i, r in enumerate(results):
            tests = json.dumps(dict(r["tests"]), sort_keys=True).encode() if r.get("tests") else b""
            metrics = b""
            if r.get("metrics"):
                metrics = _dumps(dict(r["metrics"]), "evaluation metrics").encode()
            values = (tests, r.get("patch"), r.get("logs"), r.get("trajectory"), metrics)
            for name, value in zip(fields, values, strict=True):
                data = _as_bytes(value)
                if data:
                    slots.append((i, name))
                    items.append((data, None))
        refs: list[dict[str, int | None]] = [dict.fromkeys(fields) for _ in results]
        for (i, name), pk in zip(slots, self.blobs.put_many(conn, items), strict=True):
            refs[i][name] = pk
        return refs

    def _task_pks(self, conn: Connection, names: set[str]) -> dict[str, int]:
        seen = self._task_pks_seen
        have = {name: seen[name] for name in names if name in seen}
        if len(have) == len(names):
            return have
        have.update(
            (name, pk)
            for name, pk in conn.execute(TASKS_BY_NAME, {"names": list(names - have.keys())})
        )
        for name in names - have.keys():
            conn.execute(
                dialect_insert(conn)(Task)
                .values(name=name)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            have[name] = conn.execute(select(Task.pk).where(Task.name == name)).scalar_one()
        for name, pk in have.items():
            if name not in seen:
                _cache_after_commit(conn, seen, name, pk)
        return have

    def evaluations(self, agent_id: str, seq: int | None = None) -> list[EvaluationInfo]:
        """The agent's evaluations in the order they were recorded, with patches and logs
        (only the one numbered `seq`, when given)."""
        with self.reading() as conn:
            agent = self.agent_row(conn, agent_id)
            if seq is None:
                rows = conn.execute(EVALUATIONS_OF, {"agent_pk": agent.pk}).all()
            else:
                rows = conn.execute(EVALUATION_OF, {"agent_pk": agent.pk, "seq": seq}).all()
            pks = [
                pk
                for r in rows
                for pk in (r.tests_pk, r.patch_pk, r.logs_pk, r.trajectory_pk, r.metrics_pk)
                if pk is not None
            ]
            raw = self.blobs.get_many(conn, pks)
        blob = lambda pk: raw[pk] if pk is not None else b""  # noqa: E731
        for r in rows:
            numbers = {"score": r.score, "duration_ms": r.duration_ms, "attempt": r.attempt}
            browsing.sane(f"evaluation {agent_id}/{r.seq}", numbers, "", ("",))
        return [
            EvaluationInfo(
                id=f"{agent_id}/{r.seq}",
                agent_id=agent_id,
                seq=r.seq,
                task_id=r.task_name,
                attempt=r.attempt,
                stage=r.stage,
                resolved=r.resolved,
                score=r.score,
                tests=browsing.loads(raw[r.tests_pk], f"tests of evaluation {agent_id}/{r.seq}")
                if r.tests_pk is not None
                else {},
                duration_s=r.duration_ms / 1000,
                error_kind=r.error_kind,
                has_trajectory=r.trajectory_pk is not None,
                patch=blob(r.patch_pk),
                logs=blob(r.logs_pk),
                trajectory=blob(r.trajectory_pk),
                metrics=json.loads(raw[r.metrics_pk]) if r.metrics_pk is not None else {},
                node=r.node,
            )
            for r in rows
        ]

    # -- reflections ----------------------------------------------------------------------

    def put_reflection(
        self,
        run_id: str,
        kind: str,
        generation: int,
        iteration: int,
        text: str,
        agents: Iterable[str] = (),
    ) -> None:
        """Store a reflection made at `iteration`; one made again at the same iteration (the
        iteration was redone after a kill) replaces it."""
        row = dict(
            kind=kind,
            generation=int(generation),
            iteration=int(iteration),
            text=text,
            agents=_dumps(list(agents), "reflection agents"),
            created_at=time.time(),
        )
        with self._write() as conn:
            run_pk = self.run_pk(conn, run_id)
            stmt = dialect_insert(conn)(Reflection).values(run_pk=run_pk, **row)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["run_pk", "kind", "iteration"],
                    set_={k: stmt.excluded[k] for k in row},
                )
            )

    def reflections(self, run_id: str, kind: str | None = None) -> list[ReflectionInfo]:
        """The run's reflections in the order of the iterations that made them."""
        with self.reading() as conn:
            q = select(Reflection).where(Reflection.run_pk == self.run_pk(conn, run_id))
            if kind is not None:
                q = q.where(Reflection.kind == kind)
            rows = conn.execute(q.order_by(Reflection.iteration, Reflection.pk)).all()
        return [
            ReflectionInfo(
                run_id=run_id,
                kind=r.kind,
                generation=r.generation,
                iteration=r.iteration,
                text=r.text,
                agents=json.loads(r.agents),
                created_at=r.created_at,
            )
            for r in rows
        ]

    # -- LLM calls -------------------------------------------------------------------------

    def record_llm_call(self, call: LLMCallRecord) -> str:
        """Store one LLM call; its cost is added to the agent's when it names one."""
        numbers = {"tokens_in": int, "tokens_out": int, "cost_usd": float, "latency_s": float}
        for what in numbers:
            value = getattr(call, what)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ArchiveError(
                    f"an LLM call's {what} must be a finite number >= 0, not {value!r}"
                )
        columns: dict[str, object] = {k: getattr(call, k) for k in LLM_CALL_COLUMNS}
        columns.update({what: kind(getattr(call, what)) for what, kind in numbers.items()})
        call_id = new_id()
        with self._write() as conn:
            run_pk = self.run_pk(conn, call.run_id) if call.run_id else None
            agent_pk = self.agent_row(conn, call.agent_id).pk if call.agent_id else None
            response = _as_bytes(call.response)
            request_pk, *response_pk = self.blobs.put_many(  # one batch, request first as ever
                conn,
                [(_as_bytes(call.request) or b"", None)]
                + ([(response, None)] if response is not None else []),
            )
            conn.execute(
                insert(LLMCall).values(
                    id=call_id,
                    run_pk=run_pk,
                    agent_pk=agent_pk,
                    request_pk=request_pk,
                    response_pk=response_pk[0] if response_pk else None,
                    created_at=time.time(),
                    **columns,
                )
            )
            if agent_pk is not None and call.cost_usd:
                conn.execute(
                    update(Agent)
                    .where(Agent.pk == agent_pk)
                    .values(cost_usd=Agent.cost_usd + float(call.cost_usd))
                )
        return call_id

    def find_llm_response(self, request_key: str, run_id: str | None = None) -> bytes | None:
        """The newest successful response stored under `request_key` (in `run_id` if given)."""
        with self.reading() as conn:
            q = select(LLMCall.response_pk).where(
                LLMCall.request_key == request_key,
                LLMCall.response_pk.is_not(None),
                LLMCall.error_kind.is_(None),
            )
            if run_id is not None:
                q = q.where(LLMCall.run_pk == self.run_pk(conn, run_id))
            pk = conn.execute(q.order_by(LLMCall.pk.desc()).limit(1)).scalar()
            return self.blobs.get(conn, pk) if pk is not None else None

    def llm_calls(
        self, run_id: str, bodies: bool = True, agent_id: str | None = None
    ) -> list[LLMCallInfo]:
        """The run's LLM calls in order (only `agent_id`'s if given); `bodies=False` leaves
        request/response empty."""
        with self.reading() as conn:
            q = (
                select(LLMCall, Agent.id.label("agent_id"))
                .outerjoin(Agent, Agent.pk == LLMCall.agent_pk)
                .where(LLMCall.run_pk == self.run_pk(conn, run_id))
            )
            if agent_id is not None:
                q = q.where(LLMCall.agent_pk == self.agent_row(conn, agent_id).pk)
            rows = conn.execute(q.order_by(LLMCall.pk)).all()
            raw: dict[int, bytes] = {}
            if bodies:
                pks = [pk for r in rows for pk in (r.request_pk, r.response_pk) if pk is not None]
                raw = self.blobs.get_many(conn, pks)
        for r in rows:
            numbers = {
                k: getattr(r, k) for k in ("tokens_in", "tokens_out", "cost_usd", "latency_s")
            }
            browsing.sane(f"LLM call {r.id}", numbers, "", ("",))
        return [llm_call_info(r, run_id, raw) for r in rows]

    # -- events ---------------------------------------------------------------------------

    def append_event(self, run_id: str, kind: str, payload: dict[str, Any]) -> int:
        """Append to the run's log; returns the event's id (increasing within the archive)."""
        return self.append_events(run_id, [(kind, payload)])[0]

    def append_events(self, run_id: str, events: Sequence[tuple[str, dict[str, Any]]]) -> list[int]:
        """Append several (kind, payload) to the run's log in order, in one transaction
        (all or none); returns their ids."""
        bodies = [(kind, _dumps(payload, "event payload")) for kind, payload in events]
        with self._write() as conn:
            run_pk = self.run_pk(conn, run_id)
            return [
                int(
                    conn.execute(
                        INSERT_EVENT,
                        dict(run_pk=run_pk, kind=kind, payload=body, created_at=time.time()),
                    ).inserted_primary_key[0]
                )
                for kind, body in bodies
            ]

    def events(
        self, run_id: str, kinds: Iterable[str] | None = None, after: int = 0
    ) -> list[EventInfo]:
        """The run's events in order; only `kinds` if given; only ids > `after`."""
        with self.reading() as conn:
            q = select(Event).where(Event.run_pk == self.run_pk(conn, run_id), Event.pk > after)
            if kinds is not None:
                q = q.where(Event.kind.in_(list(kinds)))
            rows = conn.execute(q.order_by(Event.pk)).all()
        return [
            EventInfo(
                r.pk, run_id, r.kind, browsing.loads(r.payload, f"event {r.pk}"), r.created_at
            )
            for r in rows
        ]


# -- helpers ---------------------------------------------------------------------------------


def _query(conn: Connection) -> browsing.Query:
    """The browsing queries (archive/browsing.py) on this connection, rows by name."""
    return lambda sql, params: conn.execute(text(sql), params).mappings().all()


def llm_call_info(r: Any, run_id: str | None, bodies: Mapping[int, bytes]) -> LLMCallInfo:
    """A row of llm_calls (with its agent's id) as an LLMCallInfo; its request and response
    from `bodies` by blob key (empty when not read)."""
    return LLMCallInfo(
        **{k: getattr(r, k) for k in ("id", "agent_id", *LLM_CALL_COLUMNS, "created_at")},
        run_id=run_id,
        request=bodies.get(r.request_pk, b""),
        response=bodies.get(r.response_pk) if r.response_pk is not None else None,
    )


def _cache_after_commit(conn: Connection, cache: dict[str, int], name: str, pk: int) -> None:
    """Put `name -> pk` in `cache` once this transaction commits (see Archive._tx)."""
    conn.info.setdefault(KEYS_PENDING, []).append((cache, name, pk))


def _score_or_none(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value):
        raise ArchiveError(f"score must be a finite number, not {value!r}")
    return value

"""The archive's browsing queries, in plain SQL: the one home of listing runs, resolving
ids, and reading agents and lineages; and `Browsing`, the methods that ask them.

They run on any connection that can execute SQL with `:name` parameters and return rows
read by column name: `Archive` (archive/store.py) runs them through SQLAlchemy (SQLite or
PostgreSQL), and `SQLiteReader` (archive/sqlite_reader.py) through the standard library's
sqlite3, so that `dgm runs` or `dgm archive list` never import SQLAlchemy. The SQL is the
subset both databases speak alike.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, Self

from archive.errors import ArchiveError
from archive.info import AGENT_STATUSES, RUN_STATUSES, AgentInfo, AgentStatus, RunInfo, RunSummary

ID_CHARS = 16  # public ids are 16 hex characters
HEX = frozenset("0123456789abcdef")
MATCHES = 6  # ids fetched for a prefix: enough to show an ambiguous one


class Row(Protocol):
    """One row, its columns read by name (sqlite3.Row, SQLAlchemy's RowMapping)."""

    def __getitem__(self, column: str, /) -> Any: ...


class Query(Protocol):
    """Runs one SQL statement with `:name` parameters; returns its rows."""

    def __call__(self, sql: str, params: Mapping[str, object]) -> Sequence[Row]: ...


def _in(name: str, values: Sequence[object]) -> tuple[str, dict[str, object]]:
    """`(:name0, :name1, ...)` and its parameters, for an IN list."""
    params = {f"{name}{i}": v for i, v in enumerate(values)}
    return "(" + ", ".join(f":{k}" for k in params) + ")", params


# -- rows edited by hand -------------------------------------------------------------------


def loads(text: str | bytes, what: str) -> Any:
    """A JSON column read back; a row edited by hand into something else is one clear error."""
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        shown = repr(text)[:40]
        raise ArchiveError(
            f"the archive's {what} is corrupt (not JSON: {shown}): restore the archive from a "
            "backup, or fix that row"
        ) from None


def sane(what: str, numbers: Mapping[str, Any], status: str, allowed: tuple[str, ...]) -> None:
    """A row edited by hand into nonsense (text in a number column, an unknown status) is
    one clear error, instead of a crash wherever the row is shown."""
    bad = [
        f"{k}={v!r}"[:40]
        for k, v in numbers.items()
        if v is not None
        and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v))
    ]
    if status not in allowed:
        bad.append(f"status={status!r}"[:40])
    if bad:
        raise ArchiveError(
            f"the archive's {what} is corrupt ({', '.join(bad)}): restore the archive from a "
            "backup, or fix that row"
        )


def reason(totals: Any) -> str | None:
    """Why a run stopped or failed before it ran (its totals' "reason")."""
    why = totals.get("reason") if isinstance(totals, dict) else None
    return str(why) if why is not None else None


# -- runs ----------------------------------------------------------------------------------

RUNS = """
SELECT r.id, r.name, r.kind, r.status, r.created_at, r.finished_at,
       COALESCE(s.n, 0) AS n_agents, COALESCE(s.n_evaluated, 0) AS n_evaluated,
       s.best AS best_score,
       (SELECT b.id FROM agents b WHERE b.run_pk = r.pk AND b.score = s.best
        ORDER BY b.pk LIMIT 1) AS best_agent_id,
       COALESCE((SELECT SUM(c.cost_usd) FROM llm_calls c WHERE c.run_pk = r.pk), 0)
           AS cost_usd,
       r.direction, r.totals
FROM runs r LEFT JOIN (
    SELECT run_pk, COUNT(*) AS n,
           SUM(CASE WHEN status = 'evaluated' THEN 1 ELSE 0 END) AS n_evaluated,
           MAX(score) AS best
    FROM agents GROUP BY run_pk
) s ON s.run_pk = r.pk
ORDER BY r.created_at DESC, r.pk DESC
"""

RUN = """
SELECT id, name, kind, status, config, seed, totals, created_at, updated_at, finished_at,
       direction
FROM runs WHERE id = :id
"""


# The columns a run's summary and its info share, by the same names.
RUN_COLUMNS = ("id", "name", "kind", "status", "created_at", "finished_at", "direction")


def runs(q: Query) -> list[RunSummary]:
    """Every run, newest first, with its agent count, best score and LLM cost."""
    out = []
    for r in q(RUNS, {}):
        run = f"run {r['id']}"
        times = {"created_at": r["created_at"], "finished_at": r["finished_at"]}
        sane(run, times, r["status"], RUN_STATUSES)
        sane(f"agents of {run}", {"score": r["best_score"]}, "", ("",))
        out.append(
            RunSummary(
                **{k: r[k] for k in (*RUN_COLUMNS, "best_score", "best_agent_id")},
                n_agents=int(r["n_agents"]),
                n_evaluated=int(r["n_evaluated"]),
                cost_usd=float(r["cost_usd"]),
                reason=reason(loads(r["totals"], f"totals of {run}")),
            )
        )
    return out


def run(q: Query, run_id: str) -> RunInfo:
    rows = q(RUN, {"id": run_id})
    if not rows:
        raise ArchiveError(f"no run {run_id!r} in this archive")
    r = rows[0]
    numbers = {k: r[k] for k in ("seed", "created_at", "updated_at", "finished_at")}
    sane(f"run {r['id']}", numbers, r["status"], RUN_STATUSES)
    return RunInfo(
        **{k: r[k] for k in (*RUN_COLUMNS, "seed", "updated_at")},
        config=loads(r["config"], f"config of run {r['id']}"),
        totals=loads(r["totals"], f"totals of run {r['id']}"),
    )


# -- ids -----------------------------------------------------------------------------------


def _prefix_matches(q: Query, table: str, prefix: str) -> list[str]:
    """Up to MATCHES ids of `table` starting with `prefix`: an index range scan."""
    prefix = prefix.strip().lower()
    if not prefix or not set(prefix) <= HEX or len(prefix) > ID_CHARS:
        return []
    sql = f"SELECT id FROM {table} WHERE id >= :lo AND id < :hi ORDER BY id LIMIT {MATCHES}"
    return [r["id"] for r in q(sql, {"lo": prefix, "hi": prefix + "g"})]  # 'g' > any hex digit


def _one(ids: list[str], prefix: str, what: str) -> str:
    if not ids:
        where = "`dgm runs`" if what == "run" else "`dgm archive list RUN`"
        raise ArchiveError(f"no {what} matches {prefix!r}: see {where}")
    if len(ids) > 1:
        raise ArchiveError(
            f"{what} prefix {prefix!r} is ambiguous: it matches {_count(ids)} {what}s "
            f"({_shown(ids)}); type more characters of the one you mean"
        )
    return ids[0]


def _count(ids: list[str]) -> str:
    return str(len(ids)) if len(ids) < MATCHES else f"more than {MATCHES - 1}"


def _shown(ids: list[str]) -> str:
    return ", ".join(i[:10] for i in ids[: MATCHES - 1]) + (", ..." if len(ids) >= MATCHES else "")


def resolve_run(q: Query, prefix: str) -> str:
    """An exact run name, else a unique id prefix -> the run's id (a name is what the user
    typed in full: it wins over an id that merely starts with it)."""
    sql = f"SELECT id FROM runs WHERE name = :name ORDER BY pk LIMIT {MATCHES}"
    named = [r["id"] for r in q(sql, {"name": prefix})]
    if len(named) > 1:
        raise ArchiveError(
            f"{_count(named)} runs are named {prefix!r} ({_shown(named)}): give one of their "
            "ids (see `dgm runs`)"
        )
    return named[0] if named else _one(_prefix_matches(q, "runs", prefix), prefix, "run")


def resolve_agent(q: Query, prefix: str) -> str:
    """A unique id prefix -> the agent's id."""
    return _one(_prefix_matches(q, "agents", prefix), prefix, "agent")


# -- agents --------------------------------------------------------------------------------

# AgentInfo's fields by name, and the key of the agent's origin blob (for Archive.agent).
AGENT_SELECT = """
SELECT a.id, r.id AS run_id, a.parent_id, a.second_parent_id, a.generation, a.operator,
       a.status, a.reason, a.score, a.scores, a.n_children, a.n_evaluated, a.n_resolved,
       a.cost_usd, a.files_changed, a.lines_added, a.lines_removed, a.created_at, a.origin_pk
FROM agents a JOIN runs r ON r.pk = a.run_pk
"""
AGENT_NUMBERS = (
    "generation",
    "score",
    "n_children",
    "n_evaluated",
    "n_resolved",
    "cost_usd",
    "created_at",
)
AGENT_TEXTS = ("id", "run_id", "parent_id", "second_parent_id", "operator", "status", "reason")
AGENT_COUNTS = ("files_changed", "lines_added", "lines_removed")


def agent_info(r: Row, origin: dict[str, Any] | None = None) -> AgentInfo:
    """One row of AGENT_SELECT as an AgentInfo."""
    sane(f"agent {r['id']}", {k: r[k] for k in AGENT_NUMBERS}, r["status"], AGENT_STATUSES)
    return AgentInfo(
        **{k: r[k] for k in (*AGENT_TEXTS, *AGENT_NUMBERS, *AGENT_COUNTS)},
        scores=loads(r["scores"], f"scores of agent {r['id']}"),
        origin=origin,
    )


def _run_pk(q: Query, run_id: str) -> int:
    rows = q("SELECT pk FROM runs WHERE id = :id", {"id": run_id})
    if not rows:
        raise ArchiveError(f"no run {run_id!r} in this archive")
    return int(rows[0]["pk"])


def agent_row(q: Query, agent_id: str) -> Row:
    """The agent's AGENT_SELECT row (with its origin blob's key, `origin_pk`)."""
    rows = q(AGENT_SELECT + " WHERE a.id = :id", {"id": agent_id})
    if not rows:
        raise ArchiveError(f"no agent {agent_id!r} in this archive")
    return rows[0]


def agents(
    q: Query,
    run_id: str,
    status: AgentStatus | Iterable[AgentStatus] | None = None,
    min_score: float | None = None,
) -> list[AgentInfo]:
    """The run's agents in creation order (without `origin`; see `Archive.agent`).
    `min_score`: a raw score as shown (see `info.objective`); only agents at least that
    good are kept, in the problem's direction: score >= it, or <= it for a 'min' problem."""
    rows = q("SELECT pk, direction FROM runs WHERE id = :id", {"id": run_id})
    if not rows:
        raise ArchiveError(f"no run {run_id!r} in this archive")
    sql = AGENT_SELECT + " WHERE a.run_pk = :run_pk"
    params: dict[str, object] = {"run_pk": int(rows[0]["pk"])}
    if status is not None:
        listed, more = _in("status", [status] if isinstance(status, str) else list(status))
        sql += f" AND a.status IN {listed}"
        params |= more
    if min_score is not None:  # stored fitness is the raw score negated for 'min' problems
        sql += " AND a.score >= :min_score"
        params["min_score"] = -min_score if rows[0]["direction"] == "min" else min_score
    return [agent_info(r) for r in q(sql + " ORDER BY a.pk", params)]


def best_agent(q: Query, run_id: str) -> AgentInfo | None:
    """The highest-scoring agent of the run (the earliest on ties), or None."""
    rows = q(
        AGENT_SELECT + " WHERE a.run_pk = :run_pk AND a.score IS NOT NULL"
        " ORDER BY a.score DESC, a.pk LIMIT 1",
        {"run_pk": _run_pk(q, run_id)},
    )
    return agent_info(rows[0]) if rows else None


# UNION, not UNION ALL: a (corrupt) cycle of parents ends instead of looping. Parents are
# a generation older than their children, so the generation orders the chain.
LINEAGE = """
WITH RECURSIVE chain(pk, parent_id) AS (
    SELECT pk, parent_id FROM agents WHERE id = :id
    UNION
    SELECT p.pk, p.parent_id FROM agents p JOIN chain c ON p.id = c.parent_id
)
"""


def lineage(q: Query, agent_id: str) -> list[AgentInfo]:
    """The agent and its first-parent ancestors, root first, in one recursive query."""
    rows = q(
        LINEAGE + AGENT_SELECT + " JOIN chain ON chain.pk = a.pk ORDER BY a.generation, a.pk",
        {"id": agent_id},
    )
    if not rows:
        raise ArchiveError(f"no agent {agent_id!r} in this archive")
    return [agent_info(r) for r in rows]


# -- executor nodes ------------------------------------------------------------------------

EVALUATION_NODES = """
SELECT e.node, COUNT(*) AS n FROM evaluations e JOIN agents a ON a.pk = e.agent_pk
WHERE a.run_pk = (SELECT pk FROM runs WHERE id = :id) GROUP BY e.node
"""


def evaluation_nodes(q: Query, run_id: str) -> dict[str, int]:
    """Evaluations of the run per executor node ("" for the driver's machine)."""
    return {r["node"] or "": int(r["n"]) for r in q(EVALUATION_NODES, {"id": run_id})}


# -- the methods both drivers answer them with ---------------------------------------------


class Browsing:
    """The browsing queries as methods (the `Reader` protocol of archive/sqlite_reader.py),
    written once for both drivers: each gives `_queries()`, a block with a Query on one
    read-only transaction, and `close()`; both are context managers that close."""

    def _queries(self) -> AbstractContextManager[Query]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def runs(self) -> list[RunSummary]:
        """Every run, newest first, with its agent count, best score and LLM cost."""
        with self._queries() as q:
            return runs(q)

    def run(self, run_id: str) -> RunInfo:
        with self._queries() as q:
            return run(q, run_id)

    def resolve_run(self, prefix: str) -> str:
        """A unique id prefix (or an exact run name) -> the run's id."""
        with self._queries() as q:
            return resolve_run(q, prefix)

    def resolve_agent(self, prefix: str) -> str:
        """A unique id prefix -> the agent's id."""
        with self._queries() as q:
            return resolve_agent(q, prefix)

    def agents(
        self,
        run_id: str,
        status: AgentStatus | Iterable[AgentStatus] | None = None,
        min_score: float | None = None,
    ) -> list[AgentInfo]:
        """The run's agents in creation order (without `origin`; see `Archive.agent`)."""
        with self._queries() as q:
            return agents(q, run_id, status, min_score)

    def best_agent(self, run_id: str) -> AgentInfo | None:
        """The highest-scoring agent of the run (the earliest on ties), or None."""
        with self._queries() as q:
            return best_agent(q, run_id)

    def lineage(self, agent_id: str) -> list[AgentInfo]:
        """The agent and its ancestors (first parents), from the root down to it."""
        with self._queries() as q:
            return lineage(q, agent_id)

    def evaluation_nodes(self, run_id: str) -> dict[str, int]:
        """How many of the run's evaluations ran on each executor node ("" for the
        driver's machine)."""
        with self._queries() as q:
            return evaluation_nodes(q, run_id)

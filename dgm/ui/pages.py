"""The pages: runs, a run (in live sections), an agent, a diff, an evaluation, an LLM call.

Each function reads the archive and renders its template (dgm/ui/templates, escaping by
default). A run page is made of sections that `/runs/<id>/live` re-renders for the
browser to swap in place (see app.js).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from archive import AgentInfo, Archive, CandidateStats, EventInfo, RunInfo, RunSummary, ui_queries
from archive.info import objective
from dgm import novelty
from dgm.display import short, usd
from dgm.ui import charts
from dgm.ui.conversation import exchange_html, trajectory_html
from dgm.ui.highlight import side_by_side, unified
from dgm.ui.html import href, json_text, page, render, text_of
from dgm.ui.treedata import no_gc

IN_FLIGHT_WINDOW = 2000  # recent events read to tell what the workers are doing
FAILURES_SHOWN = 50
LINEAGE_HEAD, LINEAGE_TAIL = 3, 40


# -- runs ----------------------------------------------------------------------------------


def runs_table(runs: list[RunSummary]) -> Markup:
    return render("runs_table.html", runs=runs, now=time.time())


def runs_page(archive: Archive) -> str:
    body = render("runs.html", table=runs_table(archive.runs()))
    return page("runs", body, live=href("live"))


# -- a run ---------------------------------------------------------------------------------


@dataclass
class Progress:
    """One pass over the run's agents: the facts and the (thinned) curves the page shows."""

    agents: int
    evaluated: int
    best: CandidateStats | None
    best_curve: list[tuple[float, float]]
    mean_curve: list[tuple[float, float]]


def progress(stats: Sequence[CandidateStats], points: int = charts.MAX_POINTS) -> Progress:
    """Best-so-far and mean of the evaluated agents after each agent created, sampled at
    about `points` iterations (and the last)."""
    n = len(stats)
    stride = max(1, n // points)
    best: CandidateStats | None = None
    top: CandidateStats | None = None  # the best score of any status (the summary's "best")
    total, k = 0.0, 0
    best_pts, mean_pts = [], []
    for i, s in enumerate(stats):
        sc = s.score
        if sc is not None:
            if top is None or sc > top.score:  # type: ignore[operator]
                top = s
            if s.status == "evaluated":
                if best is None or sc > best.score:  # type: ignore[operator]
                    best = s
                total, k = total + sc, k + 1
        if best is not None and (i % stride == 0 or i == n - 1):
            best_pts.append((float(i), float(best.score)))  # type: ignore[arg-type]
            mean_pts.append((float(i), total / k))
    return Progress(n, k, top, best_pts, mean_pts)


def in_flight(events: list[EventInfo]) -> list[str]:
    """What is running now, from the newest events (given newest first)."""
    jobs: dict[tuple[str, str], str] = {}
    for e in reversed(events):
        p = e.payload
        if e.kind in ("session_started", "session_stopped"):
            jobs.clear()
        elif e.kind == "job_started":
            jobs[("expand", str(p.get("iteration")))] = (
                f"expanding {short(str(p.get('parent') or ''))} (iteration {p.get('iteration')})"
            )
        elif e.kind in ("job_finished", "expansion_failed"):
            jobs.pop(("expand", str(p.get("iteration"))), None)
        elif e.kind == "stage_started":
            n = len(p.get("tasks") or [])
            jobs[("eval", str(p.get("agent")))] = (
                f"evaluating {short(str(p.get('agent') or ''))} at stage {p.get('stage')} ({n} task(s))"
            )
        elif e.kind in ("stage_finished", "agent_finalised"):
            jobs.pop(("eval", str(p.get("agent"))), None)
    return list(jobs.values())


def section_summary(info: RunInfo, p: Progress, duplicates: str = "0") -> Markup:
    """`duplicates`: the children rejected as duplicates (dgm.novelty.describe_counts)."""
    config = ", ".join(
        f"{k} {info.config.get(k)}"
        for k in ("model", "suite", "operator", "selector", "workers")
        if k in info.config
    )
    return render("run_summary.html", info=info, p=p, duplicates=duplicates, config=config)


def duplicates(archive: Archive, run_id: str) -> str:
    counts = {k: ui_queries.count_rejected(archive, run_id, f"{k}:") for k in novelty.KINDS}
    return novelty.describe_counts(counts)


def section_progress(p: Progress, direction: str | None = None) -> Markup:
    """A suite's scores on 0..1 (or more); a problem's raw scores (objective) on their own
    range, the axis naming the direction."""
    if direction is None:
        best, mean = p.best_curve, p.mean_curve
        ylabel, y_range = "score", (0.0, max(1.0, max((p[1] for p in best), default=1.0)))
    else:
        best, mean = _raw(p.best_curve, direction), _raw(p.mean_curve, direction)
        ys = [y for _, y in best + mean]
        ylabel, y_range = f"score ({direction})", (min(ys, default=0.0), max(ys, default=1.0))
    return charts.line_chart(
        [
            charts.Series("best so far", "best", best, step=True),
            charts.Series("archive mean", "mean", mean),
        ],
        "iteration (agents created)",
        ylabel,
        y_range=y_range,
    )


def _raw(curve: list[tuple[float, float]], direction: str) -> list[tuple[float, float]]:
    return [(x, raw) for x, y in curve if (raw := objective(y, direction)) is not None]


def section_workers(archive: Archive, run_id: str, status: str) -> Markup:
    events = ui_queries.recent_events(archive, run_id, IN_FLIGHT_WINDOW)
    jobs = in_flight(events) if status == "running" else []
    stopped = next((e for e in events if e.kind == "session_stopped"), None)
    note = "idle" if status == "running" else f"not running ({status})"
    if stopped is not None and status != "running":
        note += f": {stopped.payload.get('reason', '')}"
    return render("run_workers.html", jobs=jobs, note=note)


def section_cost(archive: Archive, info: RunInfo) -> Markup:
    buckets = ui_queries.cost_buckets(archive, info.id, info.created_at)
    total, calls, pts = 0.0, 0, [(0.0, 0.0)]
    for b in buckets:
        total, calls = total + b.usd, calls + b.calls
        pts.append((b.start, total))
    budget = _number(info.config.get("budget_usd"))
    left = (
        f"{usd(max(budget - total, 0.0))} of {usd(budget)}"
        if budget is not None
        else "no budget set"
    )
    chart = None
    if calls:
        # The unit that gives readable ticks: a young run's spending in minutes reads 0.00087.
        span = pts[-1][0]
        unit, size = next(
            (u, sz)
            for u, sz in (("hours", 3600), ("minutes", 60), ("seconds", 1))
            if span >= 2 * sz or sz == 1
        )
        chart = charts.line_chart(
            [charts.Series("USD (cumulative)", "cost", [(x / size, y) for x, y in pts])],
            f"{unit} since the run started",
            "USD",
        )
    return render("run_cost.html", total=total, calls=calls, left=left, chart=chart)


def _number(value: object) -> float | None:
    """A finite number from a run's config (as given: it may be anything JSON holds)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        f = float(value)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


def section_failures(archive: Archive, run_id: str) -> Markup:
    n = ui_queries.count_events(archive, run_id, "expansion_failed")
    events = (
        ui_queries.recent_events(archive, run_id, FAILURES_SHOWN, kinds=["expansion_failed"])
        if n
        else []
    )
    return render("run_failures.html", n=n, events=events, shown=FAILURES_SHOWN)


@dataclass(frozen=True)
class Crossover:
    iteration: int  # -1: not recorded
    parent: str | None
    second: str | None
    child: AgentInfo | None  # None: the crossover failed
    text: str  # the short-term reflection that guided it


def section_crossovers(archive: Archive, info: RunInfo) -> Markup | None:
    """ReEvo's reflections and every two-parent child, as `dgm archive show` and the report
    give them: each generation's long-term reflection (and the elite whose mutation it
    guides); each crossover with its parent, second parent, child and the short-term
    reflection that guided it. None when the run has neither."""
    reflections = archive.reflections(info.id)
    crosses = [a for a in archive.agents(info.id) if a.second_parent_id]
    if not reflections and not crosses:
        return None
    # A child's origin holds the iteration that made it and the reflection that guided it;
    # a short-term reflection with no child left is a crossover that failed.
    made: dict[int, tuple[AgentInfo, Any]] = {}
    for a in crosses:
        origin = archive.agent(a.id).origin or {}
        made[int(origin.get("iteration", -1))] = (a, origin.get("reflection"))
    shorts = {r.iteration: r for r in reflections if r.kind == "short"}
    rows = []
    for it in sorted(set(made) | set(shorts)):
        child, text = made.get(it, (None, None))
        r = shorts.get(it)
        worse, better = (r.agents + [None, None])[:2] if r else (None, None)
        rows.append(
            Crossover(
                it,
                child.parent_id if child else better,
                child.second_parent_id if child else worse,
                child,
                str(text if text is not None else (r.text if r else "-")),
            )
        )
    longs = [r for r in reflections if r.kind == "long"]
    return render("run_crossovers.html", longs=longs, crossovers=rows, direction=info.direction)


def run_sections(archive: Archive, run_id: str, stats: Sequence[CandidateStats]) -> dict[str, str]:
    info = archive.run(run_id)
    with no_gc():
        p = progress(stats)
    return {
        "summary": section_summary(info, p, duplicates(archive, run_id)),
        "progress": section_progress(p, info.direction),
        "workers": section_workers(archive, run_id, info.status),
        "cost": section_cost(archive, info),
        "failures": section_failures(archive, run_id),
    }


def run_page(archive: Archive, run_id: str) -> str:
    info = archive.run(run_id)
    stats = archive.candidate_stats(run_id)
    colour = (
        "score"
        if info.direction is None
        else "the score's rank in the run (worst purple, best yellow); labels: raw scores, "
        + ("lower" if info.direction == "min" else "higher")
        + " is better"
    )
    body = render(
        "run.html",
        info=info,
        sections=run_sections(archive, run_id, stats),
        colour=colour,
        # read at page load: one read of each two-parent child
        crossovers=section_crossovers(archive, info),
    )
    return page(
        f"run {info.name}",
        body,
        [(href("runs", run_id), f"run {short(run_id)}")],
        live=href("runs", run_id, "live"),
    )


# -- an agent ----------------------------------------------------------------------------


def _lineage(chain: list[AgentInfo]) -> list[AgentInfo | None]:
    """The chain shown: its head and tail around a gap (None) when it is long."""
    if len(chain) > LINEAGE_HEAD + LINEAGE_TAIL:
        return [*chain[:LINEAGE_HEAD], None, *chain[-LINEAGE_TAIL:]]
    return list(chain)


ORIGIN_TEXT = ("diagnosis", "proposal", "reflection", "reflections", "problem_statement", "plan")


def _origin(origin: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(heading, text) for what the origin says about how the agent was made."""
    if not origin:
        return []
    out = []
    for key in ORIGIN_TEXT:
        if key in origin:
            v = origin[key]
            out.append((key, v if isinstance(v, str) else json_text(v)))
    rest = {k: v for k, v in origin.items() if k not in ORIGIN_TEXT}
    if rest:
        out.append(("other", json_text(rest)[:20000]))
    return out


def agent_page(archive: Archive, agent_id: str) -> str:
    a = archive.agent(agent_id)
    chain = archive.lineage(a.id)
    by_task: dict[str, list[ui_queries.EvaluationRow]] = defaultdict(list)
    for r in ui_queries.evaluation_rows(archive, a.id):
        by_task[r.task_id].append(r)
    body = render(
        "agent.html",
        a=a,
        run=archive.run(a.run_id),
        origin=_origin(a.origin),
        lineage=_lineage(chain),
        hidden=len(chain) - LINEAGE_HEAD - LINEAGE_TAIL,
        by_task=by_task,
        calls=archive.llm_calls(a.run_id, bodies=False, agent_id=a.id),
    )
    return page(f"agent {short(a.id)}", body, agent_crumbs(a))


def agent_crumbs(a: AgentInfo, *more: tuple[str, str]) -> list[tuple[str, str]]:
    """The way to an agent's page (its run, the agent), then `more`."""
    return [
        (href("runs", a.run_id), f"run {short(a.run_id)}"),
        (href("agents", a.id), f"agent {short(a.id)}"),
        *more,
    ]


def diff_page(archive: Archive, agent_id: str, against: str | None) -> str:
    a = archive.agent(agent_id)
    other = archive.resolve_agent(against) if against else a.parent_id
    new = archive.agent_files(agent_id)
    old = archive.agent_files(other) if other else {}
    title = f"{short(other)} → {short(agent_id)}" if other else f"(nothing) → {short(agent_id)}"
    body = render(
        "diff.html", title=title, other=other, agent_id=agent_id, files=side_by_side(old, new)
    )
    return page(f"diff {title}", body, agent_crumbs(a, (href("agents", a.id, "diff"), "diff")))


def evaluation_page(archive: Archive, agent_id: str, seq: int) -> str:
    e = ui_queries.evaluation(archive, agent_id, seq)
    a = archive.agent(agent_id)
    body = render(
        "evaluation.html",
        e=e,
        agent_id=agent_id,
        tests=sorted(e.tests.items()),
        logs=text_of(e.logs),
        trajectory=trajectory_html(e.trajectory),
        patch=unified(text_of(e.patch)) if e.patch else None,
    )
    crumb = (href("agents", a.id, "evals", str(seq)), f"{e.task_id}")
    return page(f"{e.task_id} {short(agent_id)}", body, agent_crumbs(a, crumb))


def call_page(archive: Archive, call_id: str) -> str:
    c = ui_queries.llm_call(archive, call_id)
    body = render("call.html", c=c, exchange=exchange_html(c.request, c.response))
    crumbs = [(href("runs", c.run_id), f"run {short(c.run_id)}")] if c.run_id else []
    return page(f"call {short(c.id)}", body, crumbs)

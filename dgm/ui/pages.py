"""The pages: runs, a run (in live sections), an agent, a diff, an evaluation, an LLM call.

Each function takes the archive and returns HTML. A run page is made of sections that
`/runs/<id>/live` re-renders for the browser to swap in place (see app.js).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archive import AgentInfo, Archive, CandidateStats, EventInfo, RunInfo, RunSummary, ui_queries
from archive.info import objective
from dgm import novelty
from dgm.display import age, raw_score, score, short, usd, when
from dgm.ui import charts
from dgm.ui.conversation import exchange_html, trajectory_html
from dgm.ui.highlight import side_by_side, unified
from dgm.ui.html import agent_link, esc, href, json_text, page, run_link, text_of
from dgm.ui.treedata import no_gc

IN_FLIGHT_WINDOW = 2000  # recent events read to tell what the workers are doing
FAILURES_SHOWN = 50
LINEAGE_HEAD, LINEAGE_TAIL = 3, 40


# -- runs ----------------------------------------------------------------------------------


def runs_table(runs: list[RunSummary]) -> str:
    if not runs:
        return '<p class="empty-note">No runs in this archive yet.</p>'
    rows = []
    now = time.time()
    for r in runs:
        rows.append(
            f"<tr><td>{run_link(r.id)}</td><td>{esc(r.name)}</td><td>{esc(r.kind)}</td>"
            f'<td><span class="status {esc(r.status)}">{esc(r.status)}</span></td>'
            f"<td class=num>{raw_score(r.best_score, r.direction)}</td><td class=num>{r.n_evaluated}/{r.n_agents}</td>"
            f"<td class=num>{usd(r.cost_usd)}</td><td class=num>{age(r.created_at, now)}</td></tr>"
        )
    head = "<tr><th>run</th><th>name</th><th>kind</th><th>status</th><th>best</th><th>agents (evaluated/all)</th><th>cost</th><th>age</th></tr>"
    return f'<table class="grid runs"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def runs_page(archive: Archive) -> str:
    body = (
        f'<h1>Runs</h1><p><a href="{href("compare")}">Compare runs</a></p>'
        f'<div class="live" data-section="runs">{runs_table(archive.runs())}</div>'
    )
    return page("runs", body, data=f'data-live="{href("live")}"')


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


def section_summary(info: RunInfo, p: Progress, duplicates: str = "0") -> str:
    """`duplicates`: the children rejected as duplicates (dgm.novelty.describe_counts)."""
    best = p.best
    items = [
        ("status", f'<span class="status {esc(info.status)}">{esc(info.status)}</span>'),
        ("agents", f"{p.evaluated} evaluated of {p.agents}"),
        ("duplicates", f"{esc(duplicates)} rejected, not evaluated"),
        (
            "best",
            f"{raw_score(best.score, info.direction)} {agent_link(best.agent_id)}" if best else "-",
        ),
        ("started", f"{esc(when(info.created_at))} ({age(info.created_at)} ago)"),
        ("finished", esc(when(info.finished_at))),
        (
            "config",
            esc(
                ", ".join(
                    f"{k} {info.config.get(k)}"
                    for k in ("model", "suite", "operator", "selector", "workers")
                    if k in info.config
                )
            )
            or "-",
        ),
    ]
    return '<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def duplicates(archive: Archive, run_id: str) -> str:
    counts = {k: ui_queries.count_rejected(archive, run_id, f"{k}:") for k in novelty.KINDS}
    return novelty.describe_counts(counts)


def section_progress(p: Progress, direction: str | None = None) -> str:
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


def section_workers(archive: Archive, run_id: str, status: str) -> str:
    events = ui_queries.recent_events(archive, run_id, IN_FLIGHT_WINDOW)
    jobs = in_flight(events) if status == "running" else []
    if jobs:
        return "<ul class=jobs>" + "".join(f"<li>{esc(j)}</li>" for j in jobs) + "</ul>"
    stopped = next((e for e in events if e.kind == "session_stopped"), None)
    note = "idle" if status == "running" else f"not running ({status})"
    if stopped is not None and status != "running":
        note += f": {stopped.payload.get('reason', '')}"
    return f'<p class="empty-note">{esc(note)}</p>'


def section_cost(archive: Archive, info: RunInfo) -> str:
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
    head = f"<p>spent <b>{usd(total)}</b> over {calls} LLM call(s); budget left: <b>{esc(left)}</b></p>"
    if calls == 0:
        return head
    # The unit that gives readable ticks: a young run's spending in minutes reads 0.00087.
    span = pts[-1][0]
    unit, size = next(
        (u, sz)
        for u, sz in (("hours", 3600), ("minutes", 60), ("seconds", 1))
        if span >= 2 * sz or sz == 1
    )
    return head + charts.line_chart(
        [charts.Series("USD (cumulative)", "cost", [(x / size, y) for x, y in pts])],
        f"{unit} since the run started",
        "USD",
    )


def _number(value: object) -> float | None:
    """A finite number from a run's config (as given: it may be anything JSON holds)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        f = float(value)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


def section_failures(archive: Archive, run_id: str) -> str:
    n = ui_queries.count_events(archive, run_id, "expansion_failed")
    if not n:
        return '<p class="empty-note">No failed expansions.</p>'
    rows = []
    for e in ui_queries.recent_events(archive, run_id, FAILURES_SHOWN, kinds=["expansion_failed"]):
        p = e.payload
        rows.append(
            f"<tr><td class=num>{esc(p.get('iteration'))}</td><td>{agent_link(str(p['parent'])) if p.get('parent') else '-'}</td>"
            f"<td class=reason>{esc(p.get('reason'))}</td><td class=num>{age(e.created_at)}</td></tr>"
        )
    more = f"<p class=dim>newest {FAILURES_SHOWN} of {n} shown</p>" if n > FAILURES_SHOWN else ""
    return (
        f"<p>{n} failed expansion(s).</p><table class=grid><thead><tr><th>iteration</th><th>parent</th>"
        f"<th>reason</th><th>age</th></tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"
    )


def section_crossovers(archive: Archive, info: RunInfo) -> str | None:
    """ReEvo's reflections and every two-parent child, as `dgm archive show` and the report
    give them: each generation's long-term reflection (and the elite whose mutation it
    guides); each crossover with its parent, second parent, child and the short-term
    reflection that guided it. None when the run has neither."""
    reflections = archive.reflections(info.id)
    crosses = [a for a in archive.agents(info.id) if a.second_parent_id]
    if not reflections and not crosses:
        return None
    longs = [r for r in reflections if r.kind == "long"]
    rows = [
        f"<tr><td class=num>{r.generation}</td><td>{agent_link(r.agents[0] if r.agents else None)}</td>"
        f"<td><pre class=prose>{esc(r.text)}</pre></td></tr>"
        for r in longs
    ]
    out = ""
    if rows:
        out += (
            "<h3>Long-term reflections</h3><table class=grid><thead><tr><th>generation</th>"
            "<th>guides the mutation of</th><th>reflection</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
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
        parent = child.parent_id if child else better
        second = child.second_parent_id if child else worse
        made_cell = (
            f"{agent_link(child.id)} {raw_score(child.score, info.direction)}"
            if child
            else '<span class="dim">no child (the crossover failed)</span>'
        )
        rows.append(
            f"<tr><td class=num>{it if it >= 0 else '-'}</td><td>{agent_link(parent)}</td>"
            f"<td>{agent_link(second)}</td><td>{made_cell}</td>"
            f"<td><pre class=prose>{esc(text if text is not None else (r.text if r else '-'))}</pre></td></tr>"
        )
    out += (
        "<h3>Crossovers</h3><p class=dim>parent: the better program; second parent: the worse. "
        "The short-term reflection compares them and guides the crossover.</p>"
        "<table class=grid><thead><tr><th>iteration</th><th>parent</th><th>second parent</th>"
        f"<th>child (score)</th><th>short-term reflection</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return out


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
    s = run_sections(archive, run_id, stats)

    def box(name: str, title: str) -> str:
        return f'<section class="card"><h2>{title}</h2><div class="live" data-section="{name}">{s[name]}</div></section>'

    colour = (
        "score"
        if info.direction is None
        else "the score's rank in the run (worst purple, best yellow); labels: raw scores, "
        + ("lower" if info.direction == "min" else "higher")
        + " is better"
    )
    tree = (
        f'<section class="card wide"><h2>Archive tree</h2>'
        '<p class="dim">Drag to pan, wheel to zoom; click a node to open the agent, its ± to expand or collapse. '
        f"Colour: {esc(colour)}; thick: best lineage; dashed: second parent (crossover).</p>"
        f'<div id="tree" data-src="{href("api", "runs", run_id, "tree")}"></div></section>'
    )
    body = (
        f"<h1>Run {esc(info.name)} <code>{esc(short(run_id))}</code></h1>"
        f'<div class="cards">{box("summary", "Summary")}{box("workers", "Now")}</div>'
        # Charts two to a row: three to a row shrank their labels below reading size.
        f'<div class="cards">{box("progress", "Progress")}{box("cost", "Cost")}</div>{tree}'
        f'<div class="cards">{box("failures", "Failed expansions")}</div>'
    )
    crossovers = section_crossovers(archive, info)
    if crossovers is not None:  # read at page load: one read of each two-parent child
        body += (
            f'<section class="card wide"><h2>Reflections and crossovers</h2>{crossovers}</section>'
        )

    return page(
        f"run {info.name}",
        body,
        [(href("runs", run_id), f"run {short(run_id)}")],
        data=f'data-live="{href("runs", run_id, "live")}"',
    )


# -- an agent ----------------------------------------------------------------------------


def _lineage(chain: list[AgentInfo], direction: str | None) -> str:
    shown: list[AgentInfo | None] = list(chain)
    if len(chain) > LINEAGE_HEAD + LINEAGE_TAIL:
        shown = [*chain[:LINEAGE_HEAD], None, *chain[-LINEAGE_TAIL:]]
    rows = []
    for a in shown:
        if a is None:
            rows.append(
                f"<tr><td colspan=5 class=dim>⋮ {len(chain) - LINEAGE_HEAD - LINEAGE_TAIL} generations</td></tr>"
            )
            continue
        rows.append(
            f"<tr><td class=num>{a.generation}</td><td>{agent_link(a.id)}</td><td>{esc(a.operator)}</td>"
            f"<td class=num>{raw_score(a.score, direction)}</td><td>{a.files_changed} file(s) +{a.lines_added} -{a.lines_removed}</td></tr>"
        )
    return (
        "<table class=grid><thead><tr><th>gen</th><th>agent</th><th>operator</th><th>score</th>"
        f"<th>changed</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


ORIGIN_TEXT = ("diagnosis", "proposal", "reflection", "reflections", "problem_statement", "plan")


def _origin(origin: dict[str, Any] | None) -> str:
    if not origin:
        return '<p class="empty-note">Nothing recorded about how it was made.</p>'
    out = []
    for key in ORIGIN_TEXT:
        if key in origin:
            v = origin[key]
            out.append(
                f"<h3>{esc(key)}</h3><pre class=prose>{esc(v if isinstance(v, str) else json_text(v))}</pre>"
            )
    rest = {k: v for k, v in origin.items() if k not in ORIGIN_TEXT}
    if rest:
        out.append(f"<h3>other</h3><pre>{esc(json_text(rest)[:20000])}</pre>")
    return "".join(out)


def _scores(archive: Archive, agent: AgentInfo) -> str:
    rows = ui_queries.evaluation_rows(archive, agent.id)
    stages = ", ".join(f"{esc(k)} {score(v)}" for k, v in agent.scores.items()) or "-"
    if not rows:
        return f"<p>per stage: {stages}</p><p class=empty-note>No evaluations yet.</p>"
    by_task: dict[str, list[ui_queries.EvaluationRow]] = defaultdict(list)
    for r in rows:
        by_task[r.task_id].append(r)
    body = []
    for task, evs in by_task.items():
        cells = " ".join(
            f'<a class="ev {"ok" if e.resolved else "no"}" href="{href("agents", agent.id, "evals", str(e.seq))}" '
            f'title="{esc(e.stage)} try {e.attempt}">{esc(e.stage)}:{"✓" if e.resolved else "✗"}{" " + esc(e.error_kind) if e.error_kind else ""}</a>'
            for e in evs
        )
        body.append(
            f"<tr><td>{esc(task)}</td><td>{cells}</td><td class=num>{sum(e.duration_s for e in evs):.1f}s</td></tr>"
        )
    return (
        f"<p>per stage: {stages}; resolved {agent.n_resolved} of {agent.n_evaluated}</p>"
        "<table class=grid><thead><tr><th>task</th><th>evaluations (open one for its trajectory, tests and patch)</th>"
        f"<th>time</th></tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _calls(archive: Archive, agent: AgentInfo) -> str:
    calls = archive.llm_calls(agent.run_id, bodies=False, agent_id=agent.id)
    if not calls:
        return '<p class="empty-note">No LLM calls attributed to this agent.</p>'
    rows = [
        f'<tr><td><a href="{href("calls", c.id)}">{esc(short(c.id))}</a></td><td>{esc(c.purpose)}</td><td>{esc(c.model)}</td>'
        f"<td>{esc(c.task_id or '-')}</td><td class=num>{c.tokens_in}</td><td class=num>{c.tokens_out}</td>"
        f"<td class=num>{usd(c.cost_usd)}</td><td class=num>{c.latency_s:.1f}s</td><td>{esc(c.error_kind or '')}</td></tr>"
        for c in calls
    ]
    tin, tout = sum(c.tokens_in for c in calls), sum(c.tokens_out for c in calls)
    return (
        f"<p>{len(calls)} call(s), {tin} tokens in, {tout} out, {usd(sum(c.cost_usd for c in calls))}</p>"
        "<table class=grid><thead><tr><th>call</th><th>purpose</th><th>model</th><th>task</th><th>in</th><th>out</th>"
        f"<th>cost</th><th>latency</th><th>error</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def agent_page(archive: Archive, agent_id: str) -> str:
    a = archive.agent(agent_id)
    run = archive.run(a.run_id)
    parents = agent_link(a.parent_id) + (
        f" × {agent_link(a.second_parent_id)} (crossover)" if a.second_parent_id else ""
    )
    facts = [
        ("run", run_link(a.run_id, f"{run.name} ({short(a.run_id)})")),
        (
            "status",
            f'<span class="status {esc(a.status)}">{esc(a.status)}</span>'
            + (f" {esc(a.reason)}" if a.reason else ""),
        ),
        ("made by", f"{esc(a.operator)}, generation {a.generation}"),
        ("parents", parents),
        ("children", str(a.n_children)),
        ("score", raw_score(a.score, run.direction)),
        (
            "code",
            f"{a.files_changed} file(s) +{a.lines_added} -{a.lines_removed} against its parent: "
            f'<a id="diff-link" href="{href("agents", a.id, "diff")}">diff</a>',
        ),
        ("cost", usd(a.cost_usd)),
        ("created", esc(when(a.created_at))),
    ]
    diff_form = (
        f'<form class="inline" method="get" action="{href("agents", a.id, "diff")}">'
        '<label>diff against agent <input name="against" size="18" placeholder="id prefix"></label> '
        "<button>diff</button></form>"
    )
    body = (
        f"<h1>Agent <code>{esc(a.id)}</code></h1>"
        '<div class="cards"><section class="card"><h2>Facts</h2><dl class="facts">'
        + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
        + f"</dl>{diff_form}</section>"
        f'<section class="card"><h2>How it was made</h2>{_origin(a.origin)}</section></div>'
        f'<section class="card wide"><h2>Lineage</h2>{_lineage(archive.lineage(a.id), run.direction)}</section>'
        f'<section class="card wide"><h2>Scores per stage and task</h2>{_scores(archive, a)}</section>'
        f'<section class="card wide"><h2>LLM calls</h2>{_calls(archive, a)}</section>'
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
    body = (
        f"<h1>Diff {esc(title)}</h1><p>left: {agent_link(other) if other else 'no parent'}; right: {agent_link(agent_id)}</p>"
        f'<div id="diff">{side_by_side(old, new)}</div>'
    )
    return page(f"diff {title}", body, agent_crumbs(a, (href("agents", a.id, "diff"), "diff")))


def evaluation_page(archive: Archive, agent_id: str, seq: int) -> str:
    e = ui_queries.evaluation(archive, agent_id, seq)
    a = archive.agent(agent_id)
    tests = "".join(
        f'<tr><td><code>{esc(t)}</code></td><td class="test {esc(str(s).lower())}">{esc(s)}</td></tr>'
        for t, s in sorted(e.tests.items())
    )
    body = (
        f"<h1>{esc(e.task_id)} <small>stage {esc(e.stage)}, try {e.attempt}</small></h1>"
        f"<p>agent {agent_link(agent_id)}: {'resolved' if e.resolved else 'not resolved'}, score {score(e.score)}, "
        f"{e.duration_s:.1f}s{', error ' + esc(e.error_kind) if e.error_kind else ''}</p>"
        f'<section class="card wide"><h2>Trajectory</h2>{trajectory_html(e.trajectory)}</section>'
        f'<section class="card wide"><h2>Tests</h2><table class=grid><tbody>{tests}</tbody></table>'
        f'<h3>Test output</h3><pre class="log">{esc(text_of(e.logs))}</pre></section>'
        f'<section class="card wide"><h2>Patch</h2>{unified(text_of(e.patch)) if e.patch else "<p class=empty-note>Empty patch.</p>"}</section>'
    )
    crumb = (href("agents", a.id, "evals", str(seq)), f"{e.task_id}")
    return page(f"{e.task_id} {short(agent_id)}", body, agent_crumbs(a, crumb))


def call_page(archive: Archive, call_id: str) -> str:
    c = ui_queries.llm_call(archive, call_id)
    body = (
        f"<h1>LLM call <code>{esc(c.id)}</code></h1>"
        f"<p>{esc(c.purpose)} with {esc(c.model)}; agent {agent_link(c.agent_id)}; task {esc(c.task_id or '-')}; "
        f"{c.tokens_in} tokens in, {c.tokens_out} out; {usd(c.cost_usd)}; {c.latency_s:.1f}s"
        f"{'; error ' + esc(c.error_kind) if c.error_kind else ''}</p>"
        f'<section class="card wide">{exchange_html(c.request, c.response)}</section>'
    )
    crumbs = [(href("runs", c.run_id), f"run {short(c.run_id)}")] if c.run_id else []
    return page(f"call {short(c.id)}", body, crumbs)

"""Runs side by side, in numbers: each run's best-so-far curve and one row of a table.

Pure functions of what the archive hands out (RunInfo, AgentInfo, EventInfo, LLMCallInfo);
`dgm compare` and the UI's compare page read the archive and call these, and
dgm/report.py draws the curves.

A run's curve has one point per agent whose evaluation finished (its `agent_finalised`
event; an agent without one, from an older archive, counts at its creation), in that
order: the evaluations spent so far, the dollars spent so far (every LLM call of the run
made by then), the seconds since the run started, and the best fitness so far. Fitness is
higher-is-better; `archive.info.objective` gives back a problem's raw score.

Runs of one config over several seeds (configs equal but for `seed` and `name`) form a
group, drawn as the median of its runs with the interquartile band around it.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from archive.info import AgentInfo, EventInfo, LLMCallInfo, RunInfo, objective
from dgm.errors import UserError

Axis = Literal["evaluations", "usd", "seconds"]
AXES: tuple[Axis, ...] = ("evaluations", "usd", "seconds")
GAIN_SHARE = 0.95  # "to reach 95% of the final gain"
NOT_GROUPED = ("seed", "name")  # config keys that do not make runs different configs


@dataclass(frozen=True)
class Point:
    evaluations: int
    usd: float
    seconds: float
    best: float  # fitness: higher is better

    def at(self, axis: Axis) -> float:
        return float(getattr(self, axis))


@dataclass(frozen=True)
class RunCurve:
    run_id: str
    name: str
    direction: str | None
    group: str  # runs with the same group share a config but for the seed
    points: list[Point]


@dataclass(frozen=True)
class Row:
    """One run in the table; scores raw (the problem's own numbers, with `direction`)."""

    run_id: str
    name: str
    group: str
    seed: int | None
    direction: str | None
    first_best: float | None  # the best score of the first evaluated agents (the seed)
    final_best: float | None
    heldout_best: float | None  # the best program's held-out score, when one was taken
    evaluations: int
    usd: float
    evaluations_to_95: int | None  # None: the run gained nothing over its first score
    usd_to_95: float | None
    children_born: int
    children_valid: int
    children_duplicate: int
    rejected: dict[str, int]  # rejected children by the first words of their reason

    def as_json(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def group_of(config: dict[str, object]) -> str:
    """A short digest of the config without the keys a seed sweep varies: equal for the
    runs of one sweep, different for runs of different configs."""
    kept = {k: v for k, v in config.items() if k not in NOT_GROUPED}
    text = json.dumps(kept, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def finish_times(agents: Sequence[AgentInfo], events: Sequence[EventInfo]) -> dict[str, float]:
    """When each agent's evaluation ended (its last `agent_finalised` event), else its creation."""
    done = {a.id: a.created_at for a in agents}
    for e in events:
        if e.kind == "agent_finalised" and e.payload.get("agent") in done:
            done[str(e.payload["agent"])] = e.created_at
    return done


def run_curve(
    run: RunInfo,
    agents: Sequence[AgentInfo],
    events: Sequence[EventInfo],
    calls: Sequence[LLMCallInfo],
) -> RunCurve:
    """The run's best-so-far against evaluations, dollars and seconds (see the module doc)."""
    done = finish_times(agents, events)
    spend = sorted((c.created_at, c.cost_usd) for c in calls)
    points: list[Point] = []
    evaluations, best, usd, i = 0, None, 0.0, 0
    for a in sorted(agents, key=lambda a: (done[a.id], a.created_at)):
        evaluations += a.n_evaluated
        while i < len(spend) and spend[i][0] <= done[a.id]:
            usd += spend[i][1]
            i += 1
        if a.score is None or a.status != "evaluated":
            continue  # not admitted: never the run's best (as Archive.best_agent)
        best = a.score if best is None else max(best, a.score)
        points.append(Point(evaluations, usd, max(0.0, done[a.id] - run.created_at), best))
    return RunCurve(run.id, run.name, run.direction, group_of(run.config), points)


def to_gain(points: Sequence[Point], share: float = GAIN_SHARE) -> Point | None:
    """The first point whose best reaches `share` of the run's gain over its first score;
    None when the run gained nothing."""
    if not points or points[-1].best <= points[0].best:
        return None
    target = points[0].best + share * (points[-1].best - points[0].best)
    return next(p for p in points if p.best >= target)


def is_duplicate(reason: str | None) -> bool:
    """A child rejected as a copy: of another agent (novelty's duplicate rejections) or of
    its parent (admission's `changes nothing`)."""
    text = (reason or "").lower()
    return "duplicate" in text or text.startswith("changes nothing")


def reason_kind(reason: str | None) -> str:
    return (reason or "no reason").split(":")[0].strip() or "no reason"


def table_row(
    run: RunInfo,
    agents: Sequence[AgentInfo],
    curve: RunCurve,
    calls: Sequence[LLMCallInfo],
    heldout: float | None,
) -> Row:
    """The run's row; `heldout` is the best program's held-out score (raw), if taken."""
    children = [a for a in agents if a.parent_id is not None]
    rejected = [a for a in children if a.status == "rejected"]
    reached = to_gain(curve.points)
    pts = curve.points
    return Row(
        run_id=run.id,
        name=run.name,
        group=curve.group,
        seed=run.seed,
        direction=run.direction,
        first_best=objective(pts[0].best, run.direction) if pts else None,
        final_best=objective(pts[-1].best, run.direction) if pts else None,
        heldout_best=heldout,
        evaluations=sum(a.n_evaluated for a in agents),
        usd=sum(c.cost_usd for c in calls),
        evaluations_to_95=reached.evaluations if reached else None,
        usd_to_95=reached.usd if reached else None,
        children_born=len(children),
        children_valid=sum(1 for a in children if a.status == "evaluated"),
        children_duplicate=sum(1 for a in rejected if is_duplicate(a.reason)),
        rejected=dict(Counter(reason_kind(a.reason) for a in rejected).most_common()),
    )


HEADERS = (
    "run",
    "name",
    "seed",
    "first",
    "final best",
    "held-out",
    "evaluations",
    "USD",
    "evals to 95%",
    "USD to 95%",
    "children born",
    "valid",
    "duplicate",
)


def cells(r: Row, score: Callable[[float | None], str], usd: Callable[[float], str]) -> list[str]:
    """The row as text under HEADERS (the CLI's table and the UI's), scores and dollars
    formatted by the caller's helpers; '-' where there is nothing."""

    def maybe(v: object) -> str:
        return "-" if v is None else str(v)

    return [
        r.run_id[:8],
        r.name,
        maybe(r.seed),
        score(r.first_best),
        score(r.final_best),
        score(r.heldout_best),
        str(r.evaluations),
        usd(r.usd),
        maybe(r.evaluations_to_95),
        "-" if r.usd_to_95 is None else usd(r.usd_to_95),
        str(r.children_born),
        str(r.children_valid),
        str(r.children_duplicate),
    ]


def direction_text(direction: str | None) -> str:
    if direction is None:
        return "resolved fraction"
    return f"{direction}: {'lower' if direction == 'min' else 'higher'} is better"


@dataclass(frozen=True)
class Band:
    """A group of runs on one axis: x, and the median and quartiles of best-so-far there."""

    group: str
    runs: list[str]
    x: list[float]
    median: list[float]
    low: list[float]
    high: list[float]


def best_at(points: Sequence[Point], axis: Axis, x: float) -> float | None:
    """The curve's best-so-far at `x` (a step function; None before its first point)."""
    best = None
    for p in points:
        if p.at(axis) > x:
            break
        best = p.best
    return best


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """(25th, 50th, 75th) percentiles, interpolated; one value is all three."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def band(curves: Sequence[RunCurve], axis: Axis) -> Band:
    """The median and interquartile band of the curves (one group) on `axis`, at every x
    where one of them has a point, from where every run has a first score (before that a
    median over the runs started so far would climb as the others join). A run with no
    score at all is left out."""
    scored = [c for c in curves if c.points]
    start = max((c.points[0].at(axis) for c in scored), default=0.0)
    xs = sorted({start} | {p.at(axis) for c in scored for p in c.points if p.at(axis) >= start})
    if not scored:
        xs = []
    x_out: list[float] = []
    med: list[float] = []
    low: list[float] = []
    high: list[float] = []
    for x in xs:
        values = [b for c in scored if (b := best_at(c.points, axis, x)) is not None]
        q1, q2, q3 = quartiles(values)
        x_out.append(x)
        low.append(q1)
        med.append(q2)
        high.append(q3)
    return Band(curves[0].group, [c.run_id for c in curves], x_out, med, low, high)


def groups(curves: Sequence[RunCurve]) -> list[list[RunCurve]]:
    """The curves by group, in the order each group first appears."""
    out: dict[str, list[RunCurve]] = {}
    for c in curves:
        out.setdefault(c.group, []).append(c)
    return list(out.values())


def group_label(curves: Sequence[RunCurve]) -> str:
    """A legend's name for a group: the run's name, or the common name of a seed sweep."""
    if len(curves) == 1:
        return f"{curves[0].name} ({curves[0].run_id[:8]})"
    names = {c.name.rsplit("-seed", 1)[0] for c in curves}
    base = names.pop() if len(names) == 1 else curves[0].name
    return f"{base} (median of {len(curves)} seeds, IQR band)"


def raw_band(b: Band, direction: str | None) -> Band:
    """The band in the problem's own numbers; for a 'min' problem the quartiles swap sides."""
    if direction != "min":
        return b
    return Band(
        b.group, b.runs, b.x, [-v for v in b.median], [-v for v in b.high], [-v for v in b.low]
    )


class CompareArchive(Protocol):
    """What a comparison reads of the archive (read-only)."""

    def resolve_run(self, prefix: str) -> str: ...

    def run(self, run_id: str) -> RunInfo: ...

    def agents(self, run_id: str) -> list[AgentInfo]: ...

    def events(self, run_id: str, kinds: Iterable[str] | None = None) -> list[EventInfo]: ...

    def llm_calls(self, run_id: str, bodies: bool = True) -> list[LLMCallInfo]: ...


@dataclass(frozen=True)
class Comparison:
    direction: str | None
    curves: list[RunCurve]
    rows: list[Row]


def resolve_runs(archive: CompareArchive, refs: Sequence[str]) -> list[str]:
    """Run ids from ids or prefixes: two or more, each once (a UserError otherwise)."""
    if len(refs) < 2:
        raise UserError(
            f"dgm compare needs two or more runs (got {len(refs)}): give RUN RUN..., "
            "e.g. the ids `dgm run --seeds` printed"
        )
    ids = [archive.resolve_run(r) for r in refs]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise UserError(f"run {twice[0]} is given twice: name each run once")
    return ids


def compare_runs(archive: CompareArchive, run_ids: Sequence[str]) -> Comparison:
    """Every run's curve and row; the runs must score in one direction."""
    from dgm.heldout import latest

    runs = [archive.run(r) for r in run_ids]
    directions = {r.direction for r in runs}
    if len(directions) > 1:
        shown = ", ".join(f"{r.id[:8]} {r.direction or 'resolved fraction'}" for r in runs)
        raise UserError(
            f"the runs score in different directions ({shown}): compare runs of one kind of target"
        )
    curves, rows = [], []
    for run in runs:
        agents = archive.agents(run.id)
        events = archive.events(run.id, kinds=["agent_finalised", "heldout_scored"])
        calls = archive.llm_calls(run.id, bodies=False)
        curve = run_curve(run, agents, events, calls)
        held = latest(events)
        curves.append(curve)
        rows.append(table_row(run, agents, curve, calls, held.score if held else None))
    return Comparison(runs[0].direction, curves, rows)

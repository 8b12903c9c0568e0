"""A run's report: `report.md` plus three PNG plots, from the archive alone.

- `progress.png`: best-so-far score and archive mean score against iteration (DGM's
  progress figure); an agent counts from the iteration that created it.
- `tree.png`: the archive tree, nodes coloured by score, the best agent's lineage thick,
  rejected and failed agents as small grey marks.
- `cost.png`: cumulative LLM cost (USD) and calls over the run's wall-clock time.

A problem run (the run has a direction) shows the problem's own raw scores, with their
direction, wherever a score is shown (the archive keeps fitness: see archive.info.objective),
and its reflections (ReEvo) in a section of their own.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from archive.info import objective  # noqa: E402
from dgm.dgmh import EVENT as SELECTED  # noqa: E402
from dgm.dgmh import selection_text  # noqa: E402
from dgm.display import raw_score, usd, when  # noqa: E402
from dgm.heldout import HeldoutScore, describe, latest  # noqa: E402
from dgm.novelty import describe_counts, duplicate_counts  # noqa: E402
from dgm.outputs import Output, write_folder  # noqa: E402

if TYPE_CHECKING:
    from archive import Archive
    from archive.info import AgentInfo, EventInfo, LLMCallInfo, ReflectionInfo, RunInfo
    from dgm.compare import Comparison


@dataclass(frozen=True)
class Curve:
    iterations: list[int]
    best: list[float | None]
    mean: list[float | None]


def progress_curve(agents: list[AgentInfo]) -> Curve:
    """Best-so-far and mean over admitted agents, after each agent's creation (in order)."""
    iterations, best, mean = [], [], []
    scores: list[float] = []
    for i, a in enumerate(agents):
        if a.status == "evaluated" and a.score is not None:
            scores.append(a.score)
        iterations.append(i)
        best.append(max(scores) if scores else None)
        mean.append(sum(scores) / len(scores) if scores else None)
    return Curve(iterations, best, mean)


def tree_layout(agents: list[AgentInfo]) -> dict[str, tuple[float, float]]:
    """x: leaves left to right in depth-first order, parents centred over children; y: generation."""
    children: dict[str | None, list[str]] = {}
    ids = {a.id for a in agents}
    for a in agents:
        children.setdefault(a.parent_id if a.parent_id in ids else None, []).append(a.id)
    gen = {a.id: a.generation for a in agents}
    pos: dict[str, tuple[float, float]] = {}
    next_x = 0.0
    for root in children.get(None, []):
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            kids = children.get(node, [])
            if not kids:
                pos[node] = (next_x, -gen[node])
                next_x += 1
            elif done:
                xs = [pos[k][0] for k in kids]
                pos[node] = ((min(xs) + max(xs)) / 2, -gen[node])
            else:
                stack.append((node, True))
                stack.extend((k, False) for k in reversed(kids))
    return pos


def raw_curve(curve: Curve, direction: str | None) -> Curve:
    """The curve in the problem's own numbers (best so far stays best so far)."""
    return Curve(
        curve.iterations,
        [objective(b, direction) for b in curve.best],
        [objective(m, direction) for m in curve.mean],
    )


def plot_progress(curve: Curve, path: Path | IO[bytes], direction: str | None = None) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    best = [b if b is not None else float("nan") for b in curve.best]
    ax.step(
        curve.iterations,
        best,
        where="post",
        label="best so far",
        lw=2,
        color="tab:blue",
    )
    # Markers: a run of one agent is one point, and a line through one point draws nothing.
    ax.plot(
        curve.iterations,
        best,
        "o",
        ms=3,
        color="tab:blue",
    )
    ax.plot(
        curve.iterations,
        [m if m is not None else float("nan") for m in curve.mean],
        "o-",
        ms=3,
        label="archive mean",
        lw=1.5,
        color="tab:orange",
    )
    ax.set_xlim(-0.2, max(max(curve.iterations, default=0), 1) + 0.2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("iteration (agents created)")
    if direction is None:
        ax.set_ylabel("score (resolved fraction)")
        ax.set_ylim(-0.02, 1.02)
    else:
        better = "lower" if direction == "min" else "higher"
        ax.set_ylabel(f"score ({better} is better)")
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)


def plot_tree(
    agents: list[AgentInfo],
    lineage: set[str],
    path: Path | IO[bytes],
    direction: str | None = None,
) -> None:
    pos = tree_layout(agents)
    fig, ax = plt.subplots(
        figsize=(
            max(6, min(40, len(pos) * 0.25)),
            max(4, min(30, (max((a.generation for a in agents), default=0) + 1) * 0.6)),
        )
    )
    thin: list[Any] = []
    thick: list[Any] = []
    for a in agents:
        if a.parent_id in pos:
            seg = [pos[a.parent_id], pos[a.id]]
            (thick if a.id in lineage and a.parent_id in lineage else thin).append(seg)
    ax.add_collection(LineCollection(thin, colors="0.7", linewidths=0.8, zorder=1))
    ax.add_collection(LineCollection(thick, colors="crimson", linewidths=3.0, zorder=2))
    # A crossover child's second parent: a dotted edge.
    second = [
        [pos[a.second_parent_id], pos[a.id]]
        for a in agents
        if a.second_parent_id is not None and a.second_parent_id in pos
    ]
    ax.add_collection(
        LineCollection(second, colors="0.6", linewidths=0.8, linestyles="dotted", zorder=1)
    )
    scored = [a for a in agents if a.status == "evaluated" and a.score is not None]
    others = [a for a in agents if a not in scored]
    if others:
        ax.scatter(
            [pos[a.id][0] for a in others],
            [pos[a.id][1] for a in others],
            c="0.75",
            s=12,
            marker="x",
            zorder=3,
            label="rejected / failed / pending",
        )
    if scored:
        sc = ax.scatter(
            [pos[a.id][0] for a in scored],
            [pos[a.id][1] for a in scored],
            c=[a.score for a in scored if a.score is not None],
            cmap="viridis",
            vmin=0 if direction is None else None,
            vmax=1 if direction is None else None,
            s=[70 if a.id in lineage else 35 for a in scored],
            edgecolors=["crimson" if a.id in lineage else "k" for a in scored],
            linewidths=0.6,
            zorder=4,
        )
        fig.colorbar(
            sc, ax=ax, label="score" if direction is None else "fitness (higher is better)"
        )
    ax.autoscale()
    ax.set_ylabel("generation")
    ax.set_yticks(sorted({-a.generation for a in agents}))
    ax.set_yticklabels([str(-t) for t in sorted({-a.generation for a in agents})])
    ax.set_xticks([])
    ax.set_title("archive tree (best lineage in red)")
    if others:
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)


def plot_cost(calls: list[LLMCallInfo], start: float, path: Path | IO[bytes]) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    calls = sorted(calls, key=lambda c: c.created_at)
    t = [(c.created_at - start) / 60 for c in calls]
    spent, total = [], 0.0
    for c in calls:
        total += c.cost_usd
        spent.append(total)
    ax.plot([0, *t], [0, *spent], color="tab:green", lw=2, label="USD (cumulative)")
    ax.set_xlabel("minutes since the run started")
    ax.set_ylabel("USD" if total > 0 else "USD (no priced calls)")
    ax.set_ylim(0, max(total * 1.1, 0.01))
    ax2 = ax.twinx()
    ax2.plot(
        [0, *t],
        list(range(len(t) + 1)),
        color="tab:blue",
        lw=1,
        ls="--",
        label="LLM calls (cumulative)",
    )
    ax2.set_ylabel("calls")
    lines = ax.get_lines() + ax2.get_lines()
    ax.legend(lines, [str(ln.get_label()) for ln in lines], loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)


def markdown(
    run: RunInfo,
    agents: list[AgentInfo],
    lineage: list[AgentInfo],
    events: list[EventInfo],
    calls: list[LLMCallInfo],
    reflections: list[ReflectionInfo] | None = None,
    heldout: HeldoutScore | None = None,
) -> str:
    admitted = [a for a in agents if a.status == "evaluated"]
    statuses = Counter(a.status for a in agents)
    rejected = [a.reason for a in agents if a.status == "rejected"]
    reasons = Counter((r or "").split(":")[0] for r in rejected)
    failures = [e for e in events if e.kind == "expansion_failed"]
    failure_kinds = Counter(str(e.payload.get("reason", "")).split(":")[0] for e in failures)
    chosen = selection_text(
        [e.payload for e in events if e.kind == SELECTED], str(run.config.get("selector"))
    )
    n_evals = sum(a.n_evaluated for a in agents)
    cost = sum(c.cost_usd for c in calls)
    best = lineage[-1] if lineage else None
    cfg = run.config
    direction = getattr(run, "direction", None)

    def fmt(x: float | None) -> str:  # a problem's raw score; a suite's resolved fraction
        return raw_score(x, direction)

    target = (
        f"problem `{cfg.get('problem')}` (scores: {direction}, "
        f"{'lower' if direction == 'min' else 'higher'} is better)"
        if direction
        else f"suite `{cfg.get('suite')}`"
    )
    lines = [
        f"# Run {run.name} (`{run.id}`)",
        "",
        f"- status: **{run.status}**; started {when(run.created_at)}; finished {when(run.finished_at)}",
        f"- model `{cfg.get('model')}`, {target}, operator `{cfg.get('operator')}`, "
        f"selector `{cfg.get('selector')}`, seed {cfg.get('seed')}, workers {cfg.get('workers')}",
        f"- agents: {len(agents)} ({', '.join(f'{n} {s}' for s, n in statuses.most_common())}); "
        f"expansions that failed: {len(failures)}",
        f"- duplicates rejected, not evaluated: {describe_counts(duplicate_counts(rejected))}",
        *([f"- parent selection (DGM-H): {chosen}"] if chosen else []),
        f"- evaluations: {n_evals}; LLM calls: {len(calls)}; cost: {usd(cost)}",
        f"- best: `{best.id}` score {fmt(best.score)} (generation {best.generation})"
        if best
        else "- best: none yet",
        f"- seed score: {fmt(agents[0].score) if agents else '-'}; archive mean: "
        f"{fmt(sum(a.score or 0 for a in admitted) / len(admitted)) if admitted else '-'}",
        *([f"- {describe(heldout)}, on the problem's held-out split"] if heldout else []),
        "",
        "![progress](progress.png)",
        "",
        "![archive tree](tree.png)",
        "",
        "![cost](cost.png)",
        "",
        "## Best lineage",
        "",
        "| generation | agent | operator | score | per stage | changed (+/-) |",
        "|---|---|---|---|---|---|",
    ]
    for a in lineage:
        stages = ", ".join(f"{k} {fmt(v)}" for k, v in a.scores.items())
        lines.append(
            f"| {a.generation} | `{a.id}` | {a.operator} | {fmt(a.score)} | {stages} | "
            f"{a.files_changed} files +{a.lines_added}/-{a.lines_removed} |"
        )
    top = sorted(admitted, key=lambda a: (-(a.score or 0), a.created_at))[:10]
    lines += [
        "",
        "## Top agents",
        "",
        "| agent | parent | generation | score | evaluated | resolved |",
        "|---|---|---|---|---|---|",
    ]
    for a in top:
        lines.append(
            f"| `{a.id}` | `{a.parent_id or '-'}` | {a.generation} | {fmt(a.score)} | {a.n_evaluated} | {a.n_resolved} |"
        )
    children = [a for a in agents if a.parent_id is not None]
    if children:
        lines += [
            "",
            "## Children",
            "",
            "| agent | parent | second parent | generation | operator | status | score | changed (+/-) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for a in children:
            status: str = a.status
            if a.status in ("rejected", "failed"):
                status = f"{a.status}: {(a.reason or '')[:80]}"
            second = f"`{a.second_parent_id}`" if a.second_parent_id else "-"
            lines.append(
                f"| `{a.id}` | `{a.parent_id}` | {second} | {a.generation} | {a.operator} | "
                f"{status} | {fmt(a.score)} | "
                f"{a.files_changed} files +{a.lines_added}/-{a.lines_removed} |"
            )
    if reasons or failure_kinds:
        lines += ["", "## Why children did not make it", ""]
        lines += [f"- rejected, {r or 'no reason'}: {n}" for r, n in reasons.most_common()]
        lines += [
            f"- expansion failed, {r or 'no reason'}: {n}" for r, n in failure_kinds.most_common()
        ]
    lines += reflection_lines(reflections or [])
    lines += [
        "",
        f"Browse more: `dgm archive tree {run.id}`, `dgm archive show AGENT`, `dgm archive diff AGENT`.",
        "",
    ]
    return "\n".join(lines)


def reflection_lines(reflections: list[ReflectionInfo]) -> list[str]:
    """ReEvo's reflections: each generation's long-term one, and its short-term ones."""
    if not reflections:
        return []
    lines = ["", "## Reflections", ""]
    for g in sorted({r.generation for r in reflections}):
        here = [r for r in reflections if r.generation == g]
        lines += [f"### Generation {g}", ""]
        for r in here:
            if r.kind == "long":
                lines += [
                    f"- **long-term** (guides the mutation of `{r.agents[0] if r.agents else '-'}`): {one_line(r.text)}"
                ]
        for r in here:
            if r.kind == "short":
                pair = " vs ".join(f"`{a}`" for a in r.agents)
                lines.append(f"- short-term, iteration {r.iteration} ({pair}): {one_line(r.text)}")
        lines.append("")
    return lines


def one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def report_files(archive: Archive, run_id: str) -> dict[str, bytes]:
    """report.md, progress.png, tree.png and cost.png of a run, by file name."""
    run = archive.run(run_id)
    agents = archive.agents(run_id)
    events = archive.events(run_id)
    calls = archive.llm_calls(run_id, bodies=False)
    best = archive.best_agent(run_id)
    lineage = archive.lineage(best.id) if best is not None else []
    direction = run.direction
    reflections = archive.reflections(run_id)
    plots = {}
    for name, draw in (
        (
            "progress.png",
            lambda f: plot_progress(raw_curve(progress_curve(agents), direction), f, direction),
        ),
        ("tree.png", lambda f: plot_tree(agents, {a.id for a in lineage}, f, direction)),
        ("cost.png", lambda f: plot_cost(calls, run.created_at, f)),
    ):
        buf = io.BytesIO()
        draw(buf)
        plots[name] = buf.getvalue()
    report = markdown(run, agents, lineage, events, calls, reflections, latest(events))
    from dgm.accounting import manifest  # what ran, exactly, beside what it did

    doc = json.dumps(manifest(archive, run_id), indent=1, allow_nan=False) + "\n"
    return {"report.md": report.encode(), **plots, "manifest.json": doc.encode()}


def write_report(
    archive: Archive, run_id: str, out: Path | Output, make_parents: bool = False
) -> Path:
    """Write the report's files into the folder `out` (dgm.outputs' rule); report.md's path."""
    target = out if isinstance(out, Output) else Output(out, "--out")
    write_folder(target, report_files(archive, run_id), make_parents)
    return target.path / "report.md"


def plot_compare(comparison: Comparison, path: Path | IO[bytes]) -> None:
    """`dgm compare`'s figure: best so far against evaluations, dollars and wall time, one
    line per run, or per seed sweep its median with the interquartile band (dgm.compare)."""
    from dgm.compare import AXES, band, group_label, groups, raw_band

    direction = comparison.direction
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6), sharey=True)
    xlabels = {
        "evaluations": "evaluations",
        "usd": "USD spent",
        "seconds": "minutes since the run started",
    }
    colours = plt.get_cmap("tab10")
    for ax, axis in zip(axes, AXES, strict=True):
        if axis == "usd" and not any(r.usd > 0 for r in comparison.rows):
            # every point would sit at $0: a vertical line that says nothing
            ax.text(0.5, 0.5, "no priced LLM calls ($0)", ha="center", transform=ax.transAxes)
            ax.set_xlabel(xlabels[axis])
            continue
        for i, curves in enumerate(groups(comparison.curves)):
            b = raw_band(band(curves, axis), direction)
            scale = 60.0 if axis == "seconds" else 1.0
            x = [v / scale for v in b.x]
            colour = colours(i % 10)
            ax.step(x, b.median, where="post", lw=2, color=colour, label=group_label(curves))
            ax.plot(x, b.median, "o", ms=3, color=colour)  # one point draws no line
            if len(curves) > 1:
                ax.fill_between(x, b.low, b.high, step="post", color=colour, alpha=0.2, lw=0)
        ax.set_xlabel(xlabels[axis])
        if axis == "evaluations":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    if direction is None:
        axes[0].set_ylabel("best so far (resolved fraction)")
    else:
        better = "lower" if direction == "min" else "higher"
        axes[0].set_ylabel(f"best so far ({better} is better)")
    axes[0].legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def compare_png(comparison: Comparison) -> bytes:
    buf = io.BytesIO()
    plot_compare(comparison, buf)
    return buf.getvalue()

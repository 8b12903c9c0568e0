"""`dgm archive`: browse the agents a run grew (list, show, tree, diff, lineage, best, export),
and upgrade an archive written by an older dgm.

Agent and run arguments take any unique id prefix (like git); a run also by its name.
Browsing opens the archive read-only: it never changes a byte of it (`upgrade` does).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from archive.info import AGENT_STATUSES, AgentInfo, AgentStatus, CandidateStats, objective
from archive.tree import TreeNode, shape_tree
from dgm import display
from dgm.cli.common import (
    ArchiveOption,
    archive_errors,
    archive_location,
    fmt_age,
    fmt_score,
    fmt_usd,
    make_console,
    new_table,
    open_default_archive,
    open_for_browsing,
    open_reader,
    plain,
    short,
)
from dgm.errors import UserError, in_range
from dgm.outputs import Output, check_folder, write_folder

if TYPE_CHECKING:
    from rich.tree import Tree

app = typer.Typer(no_args_is_help=True)

RunArg = Annotated[str, typer.Argument(help="Run id (any unique prefix) or name.")]
AgentArg = Annotated[str, typer.Argument(help="Agent id (any unique prefix).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON output, for scripts.")]
STATUS_STYLE = {
    "pending": "yellow",
    "evaluating": "cyan",
    "evaluated": "green",
    "rejected": "red",
    "failed": "bold red",
}
TABLE_ROWS = 500  # a table of 100k rows helps nobody; --limit or --json for more
SORT_KEYS = {
    "created": lambda a: a.created_at,
    "score": lambda a: (a.score is not None, a.score or 0.0),
    "generation": lambda a: a.generation,
    "cost": lambda a: a.cost_usd,
    "resolved": lambda a: a.n_resolved,
}


def _status(agent: AgentInfo) -> str:
    return f"[{STATUS_STYLE.get(agent.status, '')}]{agent.status}[/]"


def _agent_json(a: AgentInfo, direction: str | None = None) -> dict[str, object]:
    """The agent as JSON; a problem run's scores are raw (a tour's length, not its negated
    fitness), with `objective` (the same) and `direction`."""
    doc = {k: v for k, v in asdict(a).items() if k != "origin" or v is not None}
    if direction is not None:
        raw = objective(a.score, direction)
        doc |= {"score": raw, "objective": raw, "direction": direction}
        doc["scores"] = {k: objective(v, direction) for k, v in a.scores.items()}
    return doc


@app.command("list")
def list_agents(
    run: RunArg,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status", help=f"Only these statuses ({', '.join(AGENT_STATUSES)}); repeatable."
        ),
    ] = None,
    min_score: Annotated[
        float | None,
        typer.Option(
            "--min-score",
            help="Only agents at least this good, on the score as shown: score >= this, "
            "or <= this for a problem that minimises.",
        ),
    ] = None,
    sort: Annotated[
        str, typer.Option("--sort", help=f"Order by {', '.join(SORT_KEYS)}.")
    ] = "created",
    desc: Annotated[
        bool, typer.Option("--desc", help="Largest first (default for score, cost, resolved).")
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=1,
            help=f"At most this many rows [default: all with --json, else {TABLE_ROWS}].",
        ),
    ] = None,
    as_json: JsonOpt = False,
    archive: str | None = ArchiveOption,
) -> None:
    """The run's agents: parent, generation, status, scores, evaluations, cost."""
    for s in status or []:
        if s not in AGENT_STATUSES:
            raise UserError(
                f"unknown status {s!r} for --status: use one of {', '.join(AGENT_STATUSES)}"
            )
    if sort not in SORT_KEYS:
        raise UserError(f"cannot sort by {sort!r}: use one of {', '.join(SORT_KEYS)}")
    if min_score is not None:
        in_range("--min-score", min_score)
    with open_reader(archive) as store, archive_errors():
        run_id = store.resolve_run(run)
        wanted = cast("list[AgentStatus]", status) if status else None  # checked above
        agents = store.agents(run_id, status=wanted, min_score=min_score)
        direction = store.run(run_id).direction
    reverse = desc or sort in ("score", "cost", "resolved")
    agents.sort(key=SORT_KEYS[sort], reverse=reverse)
    total = len(agents)
    if as_json:
        typer.echo(json.dumps([_agent_json(a, direction) for a in agents[:limit]], indent=1))
        return
    agents = agents[: limit or TABLE_ROWS]
    table = new_table(
        f"run {short(run_id)}: {total} agent(s)",
        ["agent", "parent", "gen", "op", "status", "score", "stages", "resolved", "cost", "age"],
        right={"gen", "score", "resolved", "cost", "age"},
    )
    for a in agents:
        table.add_row(
            short(a.id),
            short(a.parent_id) + (f" x {short(a.second_parent_id)}" if a.second_parent_id else ""),
            str(a.generation),
            plain(a.operator),
            _status(a),
            display.best_score(a.score, direction),
            plain(" ".join(f"{k}={objective(v, direction):.2f}" for k, v in a.scores.items())),
            f"{a.n_resolved}/{a.n_evaluated}",
            fmt_usd(a.cost_usd),
            fmt_age(a.created_at),
        )
    console = make_console()
    console.print(table)
    if len(agents) < total:
        console.print(
            f"[dim]showing {len(agents)} of {total}: use --limit N, --sort, or --json for all[/]"
        )


@app.command()
def show(agent: AgentArg, as_json: JsonOpt = False, archive: str | None = ArchiveOption) -> None:
    """Everything about one agent: lineage, how it was made, scores per stage and task, cost."""
    with open_for_browsing(archive) as store, archive_errors():
        agent_id = store.resolve_agent(agent)
        info = store.agent(agent_id)
        run = store.run(info.run_id)
        lineage = store.lineage(agent_id)
        evals = store.evaluations(agent_id)
        calls = store.llm_calls(info.run_id, bodies=False, agent_id=agent_id)
    if as_json:
        doc = _agent_json(info, run.direction) | {
            "lineage": [a.id for a in lineage],
            "evaluations": [
                {k: v for k, v in asdict(e).items() if k not in ("patch", "logs", "trajectory")}
                | {"patch": e.patch.decode(errors="replace")}
                for e in evals
            ],
            "llm_calls": len(calls),
        }
        typer.echo(json.dumps(doc, indent=1))
        return

    console = make_console()
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("agent", info.id)
    head.add_row("run", plain(f"{info.run_id} ({run.name})"))
    head.add_row(
        "status", Text.from_markup(_status(info)) + plain(f": {info.reason}" if info.reason else "")
    )
    head.add_row("made by", plain(f"{info.operator}, generation {info.generation}"))
    parents = short(info.parent_id) + (
        f" x {short(info.second_parent_id)}" if info.second_parent_id else ""
    )
    head.add_row("parent", parents)
    head.add_row("children", str(info.n_children))
    head.add_row("diff", f"{info.files_changed} file(s), +{info.lines_added} -{info.lines_removed}")
    head.add_row("score", display.best_score(info.score, run.direction))
    for stage, score in info.scores.items():
        head.add_row(plain(f"  {stage}"), display.raw_score(score, run.direction))
    head.add_row("resolved", f"{info.n_resolved} of {info.n_evaluated} evaluations")
    head.add_row("cost", f"{fmt_usd(info.cost_usd)} over {len(calls)} LLM call(s)")
    head.add_row("created", f"{fmt_age(info.created_at)} ago")
    head.add_row(
        "lineage",
        " > ".join(f"{short(a.id)} ({display.raw_score(a.score, run.direction)})" for a in lineage),
    )
    console.print(Panel(head, title=f"agent {short(info.id)}", title_align="left", expand=False))
    if info.origin:
        origin = plain(json.dumps(info.origin, indent=1)[:4000])
        console.print(Panel(origin, title="origin", title_align="left", expand=False))
    if info.origin and info.origin.get("reflection"):  # ReEvo: what guided this child
        kind = "short-term" if info.origin.get("kind") == "crossover" else "long-term"
        text = plain(info.origin["reflection"])
        console.print(Panel(text, title=f"{kind} reflection", title_align="left", expand=False))
    if evals:
        table = Table(title="evaluations", title_justify="left")
        for col in ("task", "stage", "try", "resolved", "score", "tests", "time", "error"):
            table.add_column(col)
        for e in evals:
            passed = sum(v.upper() in ("PASSED", "PASS", "XFAIL") for v in e.tests.values())
            table.add_row(
                plain(e.task_id),
                plain(e.stage),
                str(e.attempt),
                "[green]yes[/]" if e.resolved else "[red]no[/]",
                fmt_score(e.score),
                f"{passed}/{len(e.tests)}",
                f"{e.duration_s:.1f}s",
                plain(e.error_kind or ""),
            )
        console.print(table)


def _label(node: TreeNode, best_id: str | None, direction: str | None) -> Text:
    s = node.stats
    style = STATUS_STYLE.get(s.status, "")
    text = Text()
    text.append(short(s.agent_id), style="bold green" if node.on_best_path else "")
    shown = fmt_score(objective(s.score, direction))
    text.append(f" {shown}", style="bold" if node.on_best_path else "")
    text.append(f" {s.status}", style=style)
    if s.n_evaluated:
        text.append(f" {s.n_resolved}/{s.n_evaluated}", style="dim")
    if s.agent_id == best_id:
        text.append("  ★ best", style="bold green")
    return text


def _hidden(n: int, best: float | None, direction: str | None) -> Text:
    return Text(f"… {n} more (best {fmt_score(objective(best, direction))})", style="dim")


def render_tree(
    stats: Sequence[CandidateStats],
    title: str,
    max_nodes: int = 150,
    top_k: int = 3,
    max_depth: int = 14,
    direction: str | None = None,
) -> Tree:
    """The rich Tree of a run: best lineage highlighted, the rest summarised past max_nodes;
    a problem run's scores raw (`direction`)."""
    from rich.tree import Tree  # not for the other commands: it costs start-up time

    view = shape_tree(stats, max_nodes=max_nodes, top_k=top_k, max_depth=max_depth)
    best_id = view.best.agent_id if view.best else None
    root = Tree(plain(title, style="bold"), guide_style="dim")
    # Depth-first with an explicit stack (lineages can be deeper than Python's recursion);
    # an int on the stack is a node's "N more" line, printed after its shown children.
    stack: list[tuple[TreeNode | tuple[int, float | None], Tree]] = [
        (n, root) for n in reversed(view.roots)
    ]
    while stack:
        item, parent = stack.pop()
        if isinstance(item, tuple):
            parent.add(_hidden(*item, direction))
            continue
        if item.gap:
            parent = parent.add(
                Text(
                    f"⋮ {item.gap} generations of the best lineage ({item.gap_agents} agents, "
                    f"best {fmt_score(objective(item.gap_best, direction))})",
                    style="green",
                ),
                guide_style="bold green",
            )
        branch = parent.add(
            _label(item, best_id, direction),
            guide_style="bold green" if item.on_best_path else "dim",
        )
        if item.hidden:
            stack.append(((item.hidden, item.hidden_best), branch))
        stack.extend((c, branch) for c in reversed(item.children))
    if view.hidden:
        root.add(_hidden(view.hidden, view.hidden_best, direction))
    return root


@app.command()
def tree(
    run: RunArg,
    max_nodes: Annotated[
        int, typer.Option("--max-nodes", min=1, help="Agents shown before summarising.")
    ] = 150,
    top_k: Annotated[
        int,
        typer.Option("--top-k", min=1, help="Siblings shown per node besides the best lineage."),
    ] = 3,
    max_depth: Annotated[
        int,
        typer.Option(
            "--max-depth",
            min=4,
            help="Levels shown; a longer best lineage is elided in the middle.",
        ),
    ] = 14,
    archive: str | None = ArchiveOption,
) -> None:
    """The run's tree: best lineage highlighted, scores on nodes, large trees summarised."""
    with open_for_browsing(archive) as store, archive_errors():
        run_id = store.resolve_run(run)
        info = store.run(run_id)
        stats = store.candidate_stats(run_id)
    if not stats:
        typer.echo(f"run {short(run_id)} has no agents yet")
        return
    title = f"run {short(run_id)} {info.name}: {len(stats)} agent(s)"
    make_console().print(
        render_tree(
            stats,
            title,
            max_nodes=max_nodes,
            top_k=top_k,
            max_depth=max_depth,
            direction=info.direction,
        )
    )


@app.command()
def diff(
    a: AgentArg,
    b: Annotated[
        str | None, typer.Argument(help="Second agent [default: A's parent, diffed to A].")
    ] = None,
    archive: str | None = ArchiveOption,
) -> None:
    """Code diff between two agents, or between an agent and its parent."""
    with open_for_browsing(archive) as store, archive_errors():
        a_id = store.resolve_agent(a)
        text = store.diff(a_id, store.resolve_agent(b)) if b else store.diff(a_id)
    if not text:
        typer.echo("no differences", err=True)
        return
    if sys.stdout.isatty():
        from rich.syntax import Syntax  # pygments: only for diffs

        make_console().print(Syntax(text, "diff", theme="ansi_dark"))
    else:
        sys.stdout.write(text)


@app.command()
def lineage(agent: AgentArg, as_json: JsonOpt = False, archive: str | None = ArchiveOption) -> None:
    """The agent's ancestors, from the seed down to it, with scores and what changed."""
    with open_reader(archive) as store, archive_errors():
        chain = store.lineage(store.resolve_agent(agent))
        direction = store.run(chain[-1].run_id).direction
    if as_json:
        typer.echo(json.dumps([_agent_json(a, direction) for a in chain], indent=1))
        return
    table = Table(
        title=f"lineage of {short(chain[-1].id)}: {len(chain)} generation(s)", title_justify="left"
    )
    for col in ("gen", "agent", "op", "status", "score", "diff", "resolved"):
        table.add_column(col)
    for a in chain:
        table.add_row(
            str(a.generation),
            short(a.id),
            plain(a.operator),
            _status(a),
            display.best_score(a.score, direction),
            f"+{a.lines_added} -{a.lines_removed} ({a.files_changed} files)",
            f"{a.n_resolved}/{a.n_evaluated}",
        )
    make_console().print(table)


@app.command()
def best(run: RunArg, as_json: JsonOpt = False, archive: str | None = ArchiveOption) -> None:
    """The run's best agent (highest score; the earliest on ties)."""
    with open_reader(archive) as store, archive_errors():
        run_id = store.resolve_run(run)
        agent = store.best_agent(run_id)
        direction = store.run(run_id).direction
    if agent is None:
        raise UserError(f"no agent of run {short(run_id)} has a score yet")
    if as_json:
        typer.echo(json.dumps(_agent_json(agent, direction), indent=1))
        return
    make_console().print(
        f"[bold green]{agent.id}[/] score {display.best_score(agent.score, direction)} "
        f"(generation {agent.generation}, {agent.n_resolved}/{agent.n_evaluated} resolved, {_status(agent)})"
    )


@app.command()
def export(
    agent: AgentArg,
    dest_arg: Annotated[
        str,
        typer.Argument(
            metavar="DEST", help="Directory to write the agent's files into (new or empty)."
        ),
    ],
    force: Annotated[
        bool,
        typer.Option("--force", help="Write into DEST even if it holds files (never the archive)."),
    ] = False,
    archive: str | None = ArchiveOption,
) -> None:
    """Write an agent's code to a directory."""
    if not dest_arg.strip():  # Path("") is ".": the current folder, which nobody meant
        raise UserError("DEST is empty: name the directory to write the agent's files into")
    dest = Path(dest_arg)
    target = Output(dest, "DEST", force, archive_location(archive))
    check_folder(target)  # before any work
    with open_for_browsing(archive) as store, archive_errors():
        agent_id = store.resolve_agent(agent)
        files = store.agent_files(agent_id)
    write_folder(target, files)
    typer.echo(f"wrote {len(files)} file(s) of agent {short(agent_id)} to {dest}")


@app.command()
def manifest(run: RunArg, archive: str | None = ArchiveOption) -> None:
    """What the run was, as JSON: its config (secrets masked), dgm's version and lock, the
    models, hashes of the seed and the evaluator, the sandbox image, times, why it stopped."""
    from dgm.accounting import manifest as run_manifest

    with open_for_browsing(archive) as store, archive_errors():
        doc = run_manifest(store, store.resolve_run(run))
    typer.echo(json.dumps(doc, indent=1, allow_nan=False))


@app.command()
def upgrade(archive: str | None = ArchiveOption) -> None:
    """Migrate an archive written by an older dgm to this dgm's schema (browsing never does)."""
    from archive.schema import HEAD

    with open_default_archive(archive):
        typer.echo(f"the archive is at schema {HEAD}, this dgm's")

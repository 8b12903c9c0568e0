"""`dgm runs`: the runs in the archive, newest first."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer

from archive.info import RunSummary, objective
from dgm import display
from dgm.cli.common import (
    ArchiveOption,
    archive_errors,
    fmt_age,
    fmt_usd,
    make_console,
    new_table,
    open_reader,
    plain,
    short,
)

if TYPE_CHECKING:
    from rich.text import Text

STATUS_STYLE = {"running": "yellow", "stopped": "magenta", "finished": "green", "failed": "red"}


def runs(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON list, for scripts.")] = False,
    archive: str | None = ArchiveOption,
) -> None:
    """Runs with status, best score, agents, cost and age."""
    with open_reader(archive) as store, archive_errors():
        summaries = store.runs()
        nodes = {s.id: store.evaluation_nodes(s.id) for s in summaries}
    if as_json:
        rows = [  # a problem run's best score raw, as the table shows it
            asdict(s) | {"best_score": objective(s.best_score, s.direction), "nodes": nodes[s.id]}
            for s in summaries
        ]
        typer.echo(json.dumps(rows, indent=1))
        return

    console = make_console()
    if not summaries:
        console.print("no runs in this archive yet: start one with `dgm run`")
        return
    table = new_table(
        f"{len(summaries)} run(s)",
        ["run", "name", "kind", "status", "agents", "best", "best agent", "cost", "nodes", "age"],
        right={"agents", "best", "cost", "age"},
    )
    for s in summaries:
        table.add_row(
            short(s.id),
            plain(s.name),
            plain(s.kind),
            fmt_status(s),
            str(s.n_agents),
            fmt_best(s),
            short(s.best_agent_id),
            fmt_usd(s.cost_usd),
            fmt_nodes(nodes[s.id]),
            fmt_age(s.created_at),
        )
    console.print(table)


def fmt_status(s: RunSummary) -> Text:
    """The status, with why a run stopped or failed before it ran."""
    from rich.text import Text

    status = Text(s.status, style=STATUS_STYLE.get(s.status, ""))
    if s.reason and s.status != "running":
        status.append(plain(f" ({s.reason[:60]})"))
    return status


def fmt_best(s: RunSummary) -> str:
    """The best score as people read it: a problem's raw score, with its direction."""
    return display.best_score(s.best_score, s.direction)


def fmt_nodes(counts: dict[str, int]) -> str:
    """Evaluations per executor node ("local": the driver's machine), busiest first."""
    parts = sorted(counts.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{(node[:8] or 'local')}:{n}" for node, n in parts) or "-"

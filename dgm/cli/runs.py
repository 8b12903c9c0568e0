"""`dgm runs`: the runs in the archive, newest first."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dgm.cli.common import (
    ArchiveOption,
    archive_errors,
    fmt_age,
    fmt_score,
    fmt_usd,
    make_console,
    open_default_archive,
    short,
)

STATUS_STYLE = {"running": "yellow", "stopped": "magenta", "finished": "green", "failed": "red"}


def runs(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON list, for scripts.")] = False,
    archive: str | None = ArchiveOption,
) -> None:
    """Runs with status, best score, agents, cost and age."""
    with open_default_archive(archive) as store, archive_errors():
        summaries = store.runs()
    if as_json:
        typer.echo(json.dumps([asdict(s) for s in summaries], indent=1))
        return
    console = make_console()
    if not summaries:
        console.print("no runs in this archive yet: start one with `dgm run`")
        return
    table = Table(title=f"{len(summaries)} run(s)", title_justify="left")
    for col, justify in [
        ("run", "left"),
        ("name", "left"),
        ("kind", "left"),
        ("status", "left"),
        ("agents", "right"),
        ("best", "right"),
        ("best agent", "left"),
        ("cost", "right"),
        ("age", "right"),
    ]:
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for s in summaries:
        table.add_row(
            short(s.id),
            escape(s.name),
            escape(s.kind),
            f"[{STATUS_STYLE.get(s.status, '')}]{s.status}[/]"
            + (f" ({escape(s.reason[:60])})" if s.reason and s.status != "running" else ""),
            str(s.n_agents),
            fmt_score(s.best_score),
            short(s.best_agent_id),
            fmt_usd(s.cost_usd),
            fmt_age(s.created_at),
        )
    console.print(table)

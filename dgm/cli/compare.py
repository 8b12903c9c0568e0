"""`dgm compare RUN RUN... [--out FILE] [--json]`: runs side by side, in a PNG and a table.

The PNG: best so far against evaluations, against dollars and against wall time; a seed
sweep (runs of one config but the seed) as its median with an interquartile band. The
table: each run's first and final best, the best program's held-out score (when the run
took one), evaluations and dollars spent to reach 95% of its final gain, and its children
born, valid (admitted) and rejected as duplicates. Scores are raw, with their direction.
The archive is only read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from dgm.cli.common import (
    ArchiveOption,
    archive_errors,
    fmt_score,
    fmt_usd,
    make_console,
    open_for_browsing,
    plain,
)
from dgm.errors import UserError
from dgm.outputs import Output, check_file, write_file

if TYPE_CHECKING:
    from dgm.compare import Comparison

console = Console(stderr=True)
NAMED_IN_FILE = 6  # run ids in the default file name; more are counted


def default_out(run_ids: list[str]) -> Path:
    shown = [r[:8] for r in run_ids[:NAMED_IN_FILE]]
    more = len(run_ids) - len(shown)
    return Path("dgm-compare") / ("-".join(shown) + (f"+{more}" if more else "") + ".png")


def compare(
    runs: list[str] = typer.Argument(
        ..., metavar="RUN...", help="Two or more run ids or prefixes."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="The PNG to write (default: dgm-compare/RUN-RUN....png)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace --out if it exists."),
    json_out: bool = typer.Option(False, "--json", help="Print the table as one JSON object."),
    archive_opt: str | None = ArchiveOption,
) -> None:
    """Compare runs: best so far against evaluations, dollars and wall time; a table."""
    from dgm.compare import compare_runs, resolve_runs
    from dgm.report import compare_png

    archive = open_for_browsing(archive_opt)
    with archive_errors():
        run_ids = resolve_runs(archive, runs)
        target = Output(out or default_out(run_ids), "--out", force, archive.url)
        if out is not None:
            check_file(target)  # before any work
        comparison = compare_runs(archive, run_ids)
        if out is None:  # the default folder, made only once there is something to write
            try:
                target.path.parent.mkdir(exist_ok=True)
            except OSError as e:
                raise UserError(f"cannot create {target.path.parent}: {e.strerror or e}") from None
        path = write_file(target, compare_png(comparison))
    if json_out:
        doc = {
            "png": str(path),
            "direction": comparison.direction,
            "runs": [r.as_json() for r in comparison.rows],
        }
        print(json.dumps(doc))
        return
    make_console().print(table(comparison))
    console.print(plain(f"wrote {path}"))


def table(comparison: Comparison) -> Table:
    from dgm.compare import HEADERS, cells, direction_text

    t = Table(title=f"runs compared (scores {direction_text(comparison.direction)})")
    for col in HEADERS:
        t.add_column(col, justify="left" if col in ("run", "name") else "right")
    for r in comparison.rows:
        t.add_row(*(plain(c) for c in cells(r, fmt_score, fmt_usd)))
    return t

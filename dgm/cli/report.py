"""`dgm report RUN [--out DIR] [--open]`: report.md and PNG plots of a run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import typer
from rich.console import Console

from dgm.cli.common import ArchiveOption, archive_errors, open_for_browsing, plain
from dgm.outputs import Output, check_folder

console = Console(stderr=True)
VIEWERS = ("xdg-open", "open")


def report(
    run_ref: str = typer.Argument(..., metavar="RUN", help="Run id or a unique prefix."),
    out: Path | None = typer.Option(
        None, "--out", help="Directory for report.md and the PNGs (default: dgm-report/RUN)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Write into --out even if it holds files (never over the archive)."
    ),
    open_: bool = typer.Option(
        False, "--open", help="Open the report in a viewer, where one exists."
    ),
    archive_opt: str | None = ArchiveOption,
) -> None:
    """Write a run's report: progress, archive tree and cost plots, best lineage."""
    from dgm.report import write_report

    archive = open_for_browsing(archive_opt)
    with archive_errors():
        run_id = archive.resolve_run(run_ref)
        target = Output(out or Path("dgm-report") / run_id, "--out", force, archive.url)
        check_folder(target, make_parents=out is None)  # before any work
        with console.status(f"writing the report of run {run_id}"):
            path = write_report(archive, run_id, target, make_parents=out is None)
    console.print(plain(f"wrote {path} (+ progress.png, tree.png, cost.png)"))
    print(path)
    if open_:
        viewer = next((v for v in VIEWERS if shutil.which(v)), None)
        if viewer is None:
            console.print("no viewer found (xdg-open/open); open the file yourself", style="yellow")
        else:
            subprocess.Popen(
                [viewer, str(path)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=sys.platform != "win32",
            )

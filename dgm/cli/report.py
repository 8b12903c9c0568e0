"""`dgm report RUN [--out DIR] [--open]`: report.md and PNG plots of a run."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import typer
from rich.console import Console

from dgm.cli.common import ArchiveOption, archive_errors, open_for_browsing, plain
from dgm.outputs import Output, check_folder

console = Console(stderr=True)
VIEWERS = ("xdg-open", "open")
OPENER_WAIT_S = 5.0


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
    console.print(plain(f"wrote {path} (+ progress.png, tree.png, cost.png, manifest.json)"))
    print(path)
    if open_:
        problem = open_in_viewer(path)
        if problem:
            console.print(plain(f"{problem}: open {path} yourself"), style="yellow")


def open_in_viewer(path: Path) -> str | None:
    """Hand `path` to the desktop's opener; None when it took it, else why not. An opener
    that fails (xdg-open on a machine with no viewer) does so at once: its exit status is
    waited for briefly, and one still running after that is taken as a viewer at work."""
    viewer = next((v for v in VIEWERS if shutil.which(v)), None)
    if viewer is None:
        return f"no viewer found ({'/'.join(VIEWERS)} is not installed)"
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [viewer, str(path)],
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=sys.platform != "win32",
        )
        try:
            code = proc.wait(timeout=OPENER_WAIT_S)
        except subprocess.TimeoutExpired:
            return None
        errors.seek(0)
        said = errors.read().decode(errors="replace").strip().splitlines()
    if code == 0:
        return None
    why = f": {said[-1][:200]}" if said else ""
    return f"{viewer} could not open the report (exit {code}{why})"

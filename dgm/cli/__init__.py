"""The `dgm` command line: one typer app, one module per command group.

Every user-facing error is a `UserError`: printed as one line on stderr, exit code 2,
never a traceback. Each group module owns its commands and registers itself here.
"""

from __future__ import annotations

import sys

import typer

from dgm.cli import archive, bench, llm, problem, report, run, runs, sandbox, ui
from dgm.errors import UserError

app = typer.Typer(
    help="dgm: grow, watch, resume and browse Darwin Gödel Machine runs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("run")(run.run)
app.command("runs")(runs.runs)
app.add_typer(archive.app, name="archive", help="Browse the agents a run grew.")
app.add_typer(bench.app, name="bench", help="Score any agent on a benchmark suite.")
app.add_typer(sandbox.app, name="sandbox", help="Build, check and poke the sandbox.")
app.add_typer(llm.app, name="llm", help="The LLM gateway: serve, chat, usage.")
app.add_typer(problem.app, name="problem", help="Score programs against a problem's evaluator.")
app.command("report")(report.report)
app.command("ui")(ui.ui)


def main() -> None:
    try:
        app()
    except UserError as e:
        typer.secho(f"error: {e}", fg="red", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.secho("interrupted", fg="yellow", err=True)
        sys.exit(130)

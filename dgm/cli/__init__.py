"""The `dgm` command line: one typer app, one module per command group.

Every user-facing error is a `UserError`: printed as one line on stderr, exit code 2,
never a traceback; so is a usage error (unknown option, missing argument, bad value) of
any command. Each group module owns its commands and is listed in COMMANDS.

A command's module is imported only when that command runs: `dgm --help` reads the
one-line help below, and `dgm runs` never imports the engine, docker or litellm. That
keeps start-up short (`python -m benchmarks.perf.cli_startup` measures it).
"""

from __future__ import annotations

import atexit
import gc
import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import typer
from typer.core import TyperGroup
from typer.core import _click as click  # typer's own copy of click

from dgm.errors import UserError
from dgm.redact import redact, redact_logs

# Registered first, so it runs after every other exit handler: the interpreter's last
# collection then skips what it would only free as the process ends anyway (seconds after
# a run on a loaded machine, measured by benchmarks/perf/peer_openevolve.py).
atexit.register(gc.freeze)

# name: one-line help. The command is dgm/cli/NAME.py's `app` (a typer.Typer group) or,
# in a module without one, its function NAME.
COMMANDS: dict[str, str] = {
    "run": "Start or resume an evolution run.",
    "runs": "Runs with status, best score, agents, cost and age.",
    "archive": "Browse the agents a run grew.",
    "bench": "Score any agent on a benchmark suite.",
    "sandbox": "Build, check and poke the sandbox.",
    "llm": "The LLM gateway: serve, chat, usage.",
    "report": "Write a run's report: markdown and plots.",
    "compare": "Compare runs: best so far against evaluations, dollars, time; a table.",
    "problem": "Score programs against a problem's evaluator.",
    "cluster": "Start or stop a local multi-node Ray cluster.",
    "ui": "A web app over the archive (read-only): runs, a run live, its tree, agents.",
}


class OneLineUsageError(click.exceptions.UsageError):
    """A usage error shown as one line naming the command's help (click shows four, in a
    box under rich)."""

    def show(self, file: IO[Any] | None = None) -> None:
        hint = f" (see `{self.ctx.command_path} --help`)" if self.ctx is not None else ""
        typer.secho(f"error: {self.message}{hint}", fg="red", err=True, file=file)


def _one_line(e: click.exceptions.UsageError) -> str:
    message = e.format_message()
    if isinstance(e, click.exceptions.NoSuchOption) and e.possibilities:
        message = f"{e.message}: did you mean {' or '.join(sorted(e.possibilities))}?"
    return " ".join(message.split())


@contextmanager
def one_line_usage_errors() -> Iterator[None]:
    try:
        yield
    except (OneLineUsageError, click.exceptions.NoArgsIsHelpError):
        raise  # the latter prints the help, as `--help` does
    except click.exceptions.UsageError as e:
        raise OneLineUsageError(_one_line(e), e.ctx) from None


class LazyGroup(TyperGroup):
    """The top-level group: imports a command's module only when that command is used, and
    turns the usage errors of every command into one line (exit code 2)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        with one_line_usage_errors():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with one_line_usage_errors():
            return super().invoke(ctx)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        help_line = COMMANDS[cmd_name]
        module = importlib.import_module(f"dgm.cli.{cmd_name}")
        target = getattr(module, "app", None) or getattr(module, cmd_name)
        command: click.Command
        if isinstance(target, typer.Typer):
            target.info.help = target.info.help or help_line
            target._add_completion = False
            # a group even with one subcommand (`dgm problem score`): get_command would flatten it
            command = typer.main.get_group(target)
        else:
            single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
            single.command(cmd_name)(target)
            command = typer.main.get_command(single)
        command.name = cmd_name
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl(list(COMMANDS.items()))


app = typer.Typer(
    cls=LazyGroup,
    help="dgm: grow, watch, resume and browse Darwin Gödel Machine runs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # rich help would build every command to list them
)


@app.callback()
def _root() -> None:
    """dgm: grow, watch, resume and browse Darwin Gödel Machine runs."""


def main() -> None:
    redact_logs()
    try:
        app()
    except UserError as e:
        typer.secho(f"error: {redact(str(e))}", fg="red", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.secho("interrupted", fg="yellow", err=True)
        sys.exit(130)

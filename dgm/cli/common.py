"""What every command group shares: where the archive is, and turning archive errors into
user errors (one line, exit 2)."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from archive.errors import ArchiveError
from dgm import display
from dgm.errors import UserError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from archive import Archive
    from archive.sqlite_reader import Reader

DEFAULT_ARCHIVE = Path(".dgm") / "archive.db"
ARCHIVE_ENV = "DGM_ARCHIVE"

ArchiveOption = typer.Option(
    None,
    "--archive",
    help="Archive: a SQLite file or any SQLAlchemy URL [default: $DGM_ARCHIVE, else .dgm/archive.db].",
    show_default=False,
)

# Options several commands take, one declaration each (as ArchiveOption).
MODEL_HELP = "local | replay:RUN | scripted:FILE | a litellm model string (openai/gpt-4o-mini, ollama/qwen2.5-coder, ...). Default: a real model if OPENAI_API_KEY/ANTHROPIC_API_KEY is set, else local."
ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help=MODEL_HELP)]
ApiBaseOpt = Annotated[
    str | None,
    typer.Option(
        "--api-base",
        help="Base URL of an OpenAI-compatible server for --model (vLLM, llama.cpp, LM Studio, ...).",
    ),
]
BackendOpt = Annotated[str, typer.Option("--backend", help="Sandbox backend: docker or local.")]


def archive_location(archive_opt: str | None) -> str:
    """--archive, else $DGM_ARCHIVE, else .dgm/archive.db under the current directory."""
    if archive_opt is not None and not archive_opt.strip():  # `--archive "$UNSET"`
        raise UserError("--archive is empty: give a SQLite file or a database URL, or leave it out")
    return archive_opt or os.environ.get(ARCHIVE_ENV) or str(DEFAULT_ARCHIVE)


@contextmanager
def archive_errors() -> Iterator[None]:
    """Re-raise ArchiveError as UserError, so the CLI prints one line and exits 2."""
    try:
        yield
    except ArchiveError as e:
        raise UserError(str(e)) from None


def open_default_archive(archive_opt: str | None = None, create: bool = False) -> Archive:
    """Open the archive the user meant, to write to it (it is migrated to this dgm's
    schema). `create` False: a mistyped path is an error rather than a new empty archive."""
    from archive import open_archive

    location = archive_location(archive_opt)
    with archive_errors():
        try:
            return open_archive(location, create=create)
        except OSError as e:  # making a new archive's folder: /proc, no permission, a file
            raise UserError(f"cannot create an archive at {location}: {e.strerror or e}") from None


def open_for_browsing(archive_opt: str | None = None) -> Archive:
    """Open the archive the user meant read-only: never created, migrated or changed."""
    from archive import open_archive

    with archive_errors():
        return open_archive(archive_location(archive_opt), create=False, read_only=True)


def open_reader(archive_opt: str | None = None) -> Reader:
    """Like `open_for_browsing`, for the queries of `archive.sqlite_reader.Reader` only: a SQLite
    archive is then read without importing SQLAlchemy (`dgm runs` starts in a tenth of the
    time)."""
    from archive.sqlite_reader import open_reader as open_

    with archive_errors():
        return open_(archive_location(archive_opt))


# The CLI's names for dgm.display's formatting (one home for the CLI, the report and the UI).
fmt_age, fmt_score, fmt_usd = display.age, display.score, display.usd
short = display.short


def new_table(title: str, columns: list[str], right: Collection[str] = ()) -> Table:
    """A rich table titled `title` (left), with `columns`; those in `right` right-aligned."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col, justify="right" if col in right else "left")
    return table


def make_console() -> Console:
    """A console for command output: terminal width on a terminal; wide enough for whole
    ids and tables when piped (rich would assume 80 columns and crop)."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)


def plain(value: object, style: str = "") -> Text:
    """Text from outside dgm (LLM answers, code, task and test ids, names, paths, error
    messages) for rich, in a table cell or printed: shown as it is, never read as markup
    (`d[key]` stays `d[key]`, a test id holding `[/]` is no closing tag), secrets masked."""
    from rich.text import Text

    from dgm.redact import redact

    return Text(redact(str(value)), style=style)


class Interrupts:
    """SIGINT and SIGTERM as KeyboardInterrupt, for a command that must stop cleanly (a
    run being created or started is marked stopped, never left `running` by SIGTERM's
    default action, death; `dgm llm serve` removes its socket). `seen` catches an interrupt
    raised where Python drops it (a garbage-collector callback, a finalizer): the command
    then stops at once all the same, and Python's "Exception ignored" traceback for it is
    not printed (it is handled)."""

    seen = False

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self)
            signal.signal(signal.SIGINT, self)  # Ctrl-C's interrupt can be dropped the same way
            shown = sys.unraisablehook

            def hook(unraisable: sys.UnraisableHookArgs) -> None:
                if not (self.seen and isinstance(unraisable.exc_value, KeyboardInterrupt)):
                    shown(unraisable)

            sys.unraisablehook = hook

    def __call__(self, signum: int, frame: object) -> None:
        self.seen = True
        raise KeyboardInterrupt

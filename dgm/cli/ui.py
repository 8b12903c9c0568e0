"""`dgm ui`: browse an archive and watch its runs live in a web browser."""

from __future__ import annotations

from typing import Annotated

import typer

from archive import open_archive
from dgm.cli.common import ArchiveOption, archive_errors, archive_location
from dgm.errors import UserError


def ui(
    archive: str | None = ArchiveOption,
    host: Annotated[
        str,
        typer.Option(
            "--host", help="Address to bind; any but loopback requires the printed token."
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="Port to listen on, 0 to 65535 (0: any free one).")
    ] = 8000,
) -> None:
    """A web app over the archive (read-only): runs, a run live, its tree, any agent."""
    if not 0 <= port <= 65535:
        raise UserError(f"--port {port} is not a port: use 0 to 65535 (0: any free one)")
    from dgm.ui import make_server  # the web app loads only for this command

    with archive_errors():  # read-only: never created, never migrated
        store = open_archive(archive_location(archive), create=False, read_only=True)
    try:
        server = make_server(store, host, port)
    except OSError as e:
        store.close()
        raise UserError(
            f"cannot listen on {host}:{port}: {e.strerror or e}; pass another --port or --host"
        ) from None
    typer.echo(f"dgm ui serving {store.url.split('://')[0]} archive at {server.url}")
    if server.token:
        typer.echo(
            "not on loopback: the token in this URL is required (it is set as a cookie on first visit)"
        )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        server.server_close()
        store.close()

"""`dgm sandbox`: build the image, check what works, run one command in a fresh sandbox."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from dgm.cli.common import plain
from dgm.errors import UserError, in_range, invalid_value
from sandbox import BACKENDS, Limits, SandboxError, Status, open_backend

if TYPE_CHECKING:
    import docker

app = typer.Typer(no_args_is_help=True)
err = Console(stderr=True)


def _client() -> docker.DockerClient:
    """A client to a live engine (imported lazily so `--help` stays fast)."""
    from sandbox.docker_backend import connect

    try:
        return connect()
    except SandboxError as e:
        raise UserError(str(e)) from None


@app.command()
def build(
    offline: Annotated[
        bool, typer.Option("--offline", help="Build with debootstrap even if a registry answers.")
    ] = False,
    online: Annotated[
        bool, typer.Option("--online", help="Only build from the Dockerfile (needs Docker Hub).")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even when the image for these inputs exists.")
    ] = False,
) -> None:
    """Build the sandbox image (reused when its inputs are unchanged; offline when no registry answers)."""
    from sandbox import image

    if offline and online:
        raise UserError("choose one of --offline and --online")
    mode = "offline" if offline else "online" if online else "auto"
    client = _client()
    start = time.monotonic()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(f"sandbox image {image.image_tag()}", total=None)
        try:
            tag, how = image.build(
                client, mode=mode, force=force, step=lambda m: progress.update(task, description=m)
            )
        except SandboxError as e:
            raise UserError(str(e)) from None
    err.print(f"[green]sandbox image {tag}[/] ({how}, {time.monotonic() - start:.1f}s)")


@app.command()
def doctor() -> None:
    """Say what works: Docker engine, sandbox image, bubblewrap, limits. Exit 0 when Docker works."""
    from sandbox import image
    from sandbox.docker_backend import connect
    from sandbox.local_backend import bwrap_works, guarantees

    table = Table(title="dgm sandbox doctor")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail")
    docker_ok = False
    try:
        client = connect()
        version = client.version().get("Version", "?")
        table.add_row("docker engine", "[green]ok[/]", f"version {version}")
        tag = image.image_tag()
        if image.image_exists(client, tag):
            table.add_row("sandbox image", "[green]ok[/]", tag)
            docker_ok = _probe_docker(table)
        else:
            table.add_row("sandbox image", "[red]missing[/]", f"{tag}: run `dgm sandbox build`")
    except SandboxError as e:
        table.add_row("docker engine", "[red]unavailable[/]", plain(e))
    ok, detail = bwrap_works()
    table.add_row(
        "bubblewrap (local backend)", "[green]ok[/]" if ok else "[yellow]missing[/]", plain(detail)
    )
    if ok:
        table.add_row("local backend limits", "", guarantees())
    defaults = Limits()
    table.add_row(
        "default limits",
        "",
        f"{defaults.memory_mb} MiB, {defaults.cpus} cpu, {defaults.pids} pids, {defaults.disk_mb} MiB per writable dir, "
        f"timeout {defaults.timeout_s:.0f}s",
    )
    Console().print(table)
    raise typer.Exit(0 if docker_ok else 1)


def _probe_docker(table: Table) -> bool:
    """Run a real command in a real sandbox and check the limits hold."""
    try:
        with (
            open_backend("docker", pool_size=0) as backend,
            backend.open(Limits(memory_mb=256)) as sb,
        ):
            start = time.monotonic()
            r = sb.run(
                "id -u; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max;"
                " python3 -c 'import socket; socket.create_connection((\"1.1.1.1\", 53), 1)' 2>/dev/null && echo NET || echo nonet",
                timeout_s=30,
            )
            took = time.monotonic() - start
    except SandboxError as e:
        table.add_row("sandbox run", "[red]failed[/]", plain(e))
        return False
    lines = r.stdout.split()
    good = (
        r.status is Status.ok
        and lines[:1] == ["1000"]
        and "nonet" in lines
        and str(256 << 20) in lines
    )
    detail = (
        f"uid {lines[0] if lines else '?'}, memory limit {'ok' if str(256 << 20) in lines else '?'}, "
        f"network {'none' if 'nonet' in lines else 'OPEN'}, {took * 1000:.0f} ms"
    )
    table.add_row("sandbox run", "[green]ok[/]" if good else "[red]wrong[/]", detail)
    return good


def _stream(stream: str, chunk: bytes) -> None:
    out = sys.stdout if stream == "stdout" else sys.stderr
    out.buffer.write(chunk)
    out.flush()


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(
    ctx: typer.Context,
    backend: Annotated[
        str, typer.Option("--backend", "--sandbox", help="docker or local.")
    ] = "docker",
    timeout: Annotated[float, typer.Option("--timeout", help="Deadline in seconds.")] = 600.0,
    memory: Annotated[int, typer.Option("--memory", help="Memory limit in MiB.")] = 2048,
    cpus: Annotated[float, typer.Option("--cpus", help="CPU quota in cores.")] = 1.0,
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--workdir", help="Host directory copied in as /testbed, the working directory."
        ),
    ] = None,
    unsafe_local: Annotated[
        bool,
        typer.Option(
            "--unsafe-local", help="Let the local backend run without bubblewrap (no isolation!)."
        ),
    ] = False,
) -> None:
    """Run one command in a fresh sandbox: `dgm sandbox run [OPTIONS] -- CMD ...`.

    Exits with the command's exit code; 124 on timeout, 137 when killed for memory."""
    cmd = list(ctx.args)
    if not cmd:
        raise UserError("no command given: `dgm sandbox run [OPTIONS] -- CMD ...`")
    if backend not in BACKENDS:
        raise UserError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if workdir is not None and not workdir.is_dir():
        raise UserError(f"--workdir {workdir} is not a directory")
    from sandbox.protocol import MAX_CPUS, MAX_MEMORY_MB, MAX_SECONDS

    in_range("--timeout", timeout, 0, MAX_SECONDS, above=True)
    in_range("--memory", memory, None, MAX_MEMORY_MB)
    in_range("--cpus", cpus, 0, MAX_CPUS, above=True)
    try:
        limits = Limits(timeout_s=timeout, memory_mb=memory, cpus=cpus)
    except ValidationError as e:  # the sandbox's own lower bounds (memory)
        raise UserError(
            invalid_value(e, Limits, "limit", "raise --memory, --timeout or --cpus into range")
        ) from None
    try:
        with (
            open_backend(backend, unsafe_local=unsafe_local, pool_size=0) as be,
            be.open(limits) as sb,
        ):
            if workdir is not None:
                sb.put_dir(workdir, "/testbed")
            r = sb.run(cmd, timeout_s=timeout, workdir="/testbed", on_output=_stream)
    except SandboxError as e:
        raise UserError(str(e)) from None
    for stream, truncated in (("stdout", r.stdout_truncated), ("stderr", r.stderr_truncated)):
        if truncated:
            err.print(f"[yellow]{stream} truncated at {r.output_cap_bytes} bytes[/]")
    if r.status not in (Status.ok, Status.exit_code):
        err.print(f"[yellow]{r.status.value}[/] after {r.duration_s:.1f}s")
    raise typer.Exit(r.exit_code)

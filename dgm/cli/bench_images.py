"""`dgm bench pull SUITE` and `dgm bench images SUITE [--prune]`: a suite's instance
images pulled with a progress bar (the download size and free disk shown first), and
those it no longer needs removed (benchmarks/images.py says which)."""

from __future__ import annotations

import os
import shutil
from typing import Any

from rich import filesize
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from benchmarks.suites import Suite
from benchmarks.task import Task
from dgm.cli.common import plain
from dgm.errors import UserError

NO_IMAGES = "{} needs no instance images: its tasks run in the sandbox image"
err = Console(stderr=True, soft_wrap=True)  # a line a test or a script greps
out = Console(soft_wrap=True)


def _client() -> Any:
    from sandbox import SandboxError
    from sandbox.docker_backend import connect

    try:
        return connect()
    except SandboxError as e:  # `dgm run --pull` has no user_errors() around it
        raise UserError(str(e)) from None


def _size(n: int | None) -> str:
    if n is None:
        return "size unknown"
    return filesize.decimal(n)


def pull_missing(suite: Suite, tasks: list[Task]) -> int:
    """Pull the instance images these tasks need and the engine lacks; how many it pulled.
    No registry reachable: a UserError before anything is pulled (or any run exists)."""
    from benchmarks import images

    needed = images.needed_images(suite, tasks)
    if not needed:  # swe-mini, polyglot: no engine asked (the run may be --sandbox local)
        return 0
    client = _client()
    wanted = images.missing(client, needed)
    if not wanted:
        return 0
    try:
        for registry_image in {images.parse(i).registry: i for i in wanted}.values():
            images.reachable(registry_image)
    except images.RegistryError as e:
        raise UserError(str(e)) from None
    sizes = {i: images.download_size(i) for i in wanted}
    known = [s for s in sizes.values() if s is not None]
    total = f"{_size(sum(known))}" + (
        f" (and {len(wanted) - len(known)} of unknown size)" if len(known) < len(wanted) else ""
    )
    root = (client.info() or {}).get("DockerRootDir") or "/var/lib/docker"
    free = shutil.disk_usage(root).free if os.path.isdir(root) else None
    err.print(
        plain(
            f"{len(wanted)} instance image(s) to pull: up to {total} to download (compressed "
            f"layers, from the registry's manifests; layers already here are not fetched); "
            f"{_size(free)} free at {root}"
        )
    )
    with Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as progress:
        bar = progress.add_task(f"pulling {len(wanted)} image(s)", total=sum(known) or None)
        finished = 0

        def report(_image: str, done: int, _known: int) -> None:
            progress.update(bar, completed=finished + done)

        for image in wanted:
            try:
                images.pull(client, image, report)
            except images.RegistryError as e:
                raise UserError(str(e)) from None
            finished += sizes[image] or 0
            progress.update(bar, completed=finished)
    return len(wanted)


def pull_suite(spec: str, subset: str | None) -> None:
    from benchmarks import images
    from benchmarks.suites import open_suite

    suite = open_suite(spec)
    tasks = suite.tasks()
    if subset:
        ids = set(suite.subset(subset))
        tasks = [t for t in tasks if t.instance_id in ids]
    if not images.needed_images(suite, tasks):
        out.print(plain(NO_IMAGES.format(suite.name)))
        return
    pulled = pull_missing(suite, tasks)
    out.print(plain(f"{pulled} image(s) pulled; every instance image of {suite.name} is present"))


def list_or_prune(spec: str, prune: bool) -> None:
    from benchmarks import images
    from benchmarks.suites import open_suite

    suite = open_suite(spec)
    needed = images.needed_images(suite, suite.tasks())
    if not needed:  # nothing of the suite's to keep, so nothing is another's to prune
        out.print(plain(NO_IMAGES.format(suite.name)))
        return
    client = _client()
    absent = set(images.missing(client, needed))
    stale = images.prunable(client, needed)
    if not prune:
        table = Table("image", "state")
        for image in needed:
            table.add_row(plain(image), "[red]missing[/]" if image in absent else "present")
        for image in stale:
            table.add_row(plain(image), "[yellow]not needed[/]")
        out.print(table)
        out.print(
            plain(
                f"{len(needed) - len(absent)} of {len(needed)} present; {len(stale)} not needed "
                f"(`dgm bench images {spec} --prune` removes them)"
            )
        )
        return
    kept = []
    for image in stale:
        why = images.remove(client, image)
        if why:
            kept.append(f"{image}: {why}")
    out.print(
        plain(f"removed {len(stale) - len(kept)} instance image(s) {suite.name} no longer needs")
    )
    for line in kept:
        err.print(plain(f"kept {line}"))

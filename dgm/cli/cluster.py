"""`dgm cluster up|down|status`: a Ray cluster of several nodes on this machine, to try
`dgm run --executor ray` without more hosts. For real hosts see docs/cluster.md."""

from __future__ import annotations

from typing import Annotated

import typer

from dgm.cli.common import make_console
from dgm.errors import UserError

app = typer.Typer(no_args_is_help=True, help="Start or stop a local multi-node Ray cluster.")


@app.command()
def up(
    workers: Annotated[int, typer.Option("--workers", min=1, max=16, help="Worker nodes.")] = 2,
    # whole CPUs: `ray start --num-cpus` refuses a fraction
    cpus: Annotated[int, typer.Option("--cpus", min=1, help="CPUs each worker offers.")] = 2,
    sandboxes: Annotated[
        int, typer.Option("--sandboxes", min=1, help="Sandboxes each worker runs at once.")
    ] = 2,
) -> None:
    """A head (no jobs) and N worker nodes, each its own raylet with `dgm_sandbox` slots."""
    from dgm.executors.cluster_state import node_ids, read_state, start_cluster

    old = read_state()
    if old is not None and node_ids(old):
        raise UserError(
            f"a cluster is already up at {old.address}: `dgm cluster down` first, or use it"
        )
    console = make_console()
    with console.status(f"starting a head and {workers} worker node(s)..."):
        state = start_cluster(workers, cpus=cpus, sandboxes=sandboxes)
    state.save()
    console.print(f"cluster up at {state.address}: {len(state.workers)} worker node(s)")
    console.print(f"next: dgm run --executor ray --ray-address {state.address}   dgm cluster down")


@app.command()
def down() -> None:
    """Stop the cluster `dgm cluster up` started: only processes and the folder it can
    prove are its own (see dgm.executors.cluster_state)."""
    from dgm.executors.cluster_state import STATE_FILE, read_state, stop_cluster

    state = read_state()
    if state is None:
        raise UserError("no cluster was started here (no .dgm/cluster.json): nothing to stop")
    n = stop_cluster(state)
    STATE_FILE.unlink(missing_ok=True)
    make_console().print(f"cluster at {state.address} stopped ({n} processes)")


@app.command()
def status() -> None:
    """The cluster's address and live nodes."""
    from dgm.executors.cluster_state import node_ids, read_state

    state = read_state()
    if state is None:
        raise UserError("no cluster was started here: `dgm cluster up --workers N`")
    live = node_ids(state)
    make_console().print(
        f"cluster at {state.address}: {len(live)} live raylet(s) "
        f"({', '.join(n[:8] for n in live) or 'none'})"
    )

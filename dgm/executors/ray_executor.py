"""The Ray executor: each job is a Ray task on a node that can sandbox.

A task asks for the job's CPUs and memory and one unit of `dgm_sandbox`, the resource a
node advertises (`ray start --resources '{"dgm_sandbox": N}'`) when it has a sandbox
backend for N jobs at once; Ray's scheduler places it. A task writes nothing but its
sandboxes, and the driver records only the one result it gets back, so a job run again
never counts twice.

A node that dies under a job: before the job started there, Ray runs the task again
(its task retries). Once it started, the driver does not rely on Ray to notice: with the
node cut off, Ray's own retry may wait for the link to come back, and its recovery of a
started generator task's results has known hangs (ray-project/ray#47582). So the driver
waits in short slices, asks the head which nodes live, and on the node's death cancels
the task and raises NodeLost (an infrastructure error: the job runs again as a new task,
dgm/executors/retry.py). A job that waits NODE_WAIT_S with no live node able to sandbox
raises NoNode: the run stops with that one line and `--resume` runs the job.

Sandboxes on a node reach the driver's gateway through that node's relay (dgm/llm/relay.py).
Before any work, `RayExecutor` checks that the address answers, that some node can
sandbox and fit a job, and that a cluster of several hosts has an archive they can share.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, TypeVar, cast

from dgm.errors import UserError
from dgm.executors import node as node_state
from dgm.executors.protocol import (
    SANDBOX_RESOURCE,
    Done,
    ExecutorSpec,
    GatewayApp,
    Job,
    OnStart,
    ProgramScorer,
    Resources,
)
from sandbox import EngineUnavailable, SandboxBackend
from sandbox.closing import Closing

if TYPE_CHECKING:
    from ray import ObjectRefGenerator

    from benchmarks.problems import Problem
    from benchmarks.suites import Suite
    from benchmarks.task import Task
    from dgm.llm.relay import NodeRelay, RelayHub

T = TypeVar("T")
log = logging.getLogger(__name__)

MAX_RETRIES = 3  # runs of a job after the first, when its node dies before it started
CONNECT_TIMEOUT_S = 5.0
MB = 1024 * 1024
POLL_S = 2.0  # how often a waiting driver asks whether the job's node still lives
NODE_WAIT_S = 300.0  # how long a job waits while no live node can sandbox, then NoNode
SWEEP_WAIT_S = 60.0  # for every node's sweep, at the start and the end of a session

_relays: dict[tuple[str, str, str], NodeRelay] = {}


class NodeInfo(TypedDict):
    """The keys read of a node `ray.nodes()` lists."""

    NodeID: str
    Alive: bool
    NodeManagerAddress: str
    Resources: dict[str, float]


class LiveNodes:
    """The cluster's live nodes as the head lists them, asked at most once per `max_age_s`
    however many jobs wait: each waiting job checks on its node every POLL_S, and one list
    serves them all (one `ray.nodes()` call, not one per job)."""

    def __init__(
        self,
        fetch: Callable[[], list[NodeInfo]],
        max_age_s: float = POLL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._nodes: list[NodeInfo] = []
        self._at: float | None = None  # when _nodes was asked for

    def get(self, fresh: bool = False) -> list[NodeInfo]:
        """The list, asked again when older than max_age_s (or `fresh`)."""
        with self._lock:
            if fresh or self._at is None or self._clock() - self._at >= self._max_age_s:
                self._nodes = self._fetch()
                self._at = self._clock()
            return self._nodes

    def lives(self, node: str) -> bool:
        """Whether `node` is among the live nodes. One missing from the shared list is asked
        for again before it counts as dead: it may have joined after the list was made."""
        return any(n["NodeID"] == node for n in self.get()) or any(
            n["NodeID"] == node for n in self.get(fresh=True)
        )


class RelayLost(EngineUnavailable):
    """A job's gateway relay died under it: its LLM calls failed on the node's side, so its
    result says nothing of the agent. The machinery's failure: never recorded, run again
    (dgm/executors/retry.py), like a job whose Docker engine went away."""


class NodeLost(EngineUnavailable):
    """The node a job ran on died (declared dead by the head) before its result came
    back: the machinery's failure, never recorded; the job runs again as a new task."""


class NoNode(EngineUnavailable):
    """No live node of the cluster could sandbox for NODE_WAIT_S while a job waited."""


class RayNode:
    """A Ray node as a job sees it, inside the task's worker process."""

    def __init__(self, node: str, hub: str, token: str, socket_name: str) -> None:
        self.node: str | None = node
        self._relay_key = (hub, token, socket_name)
        self._relay: NodeRelay | None = None  # the one this job was given

    def backend(self, kind: str, run_label: str) -> SandboxBackend:
        return node_state.backend(kind, run_label)

    def suite(self, spec: str, sandbox: str) -> Suite:
        return node_state.suite(spec, sandbox)

    def repo(self, suite: Suite, task: Task) -> Path | None:
        return node_state.repo(suite, task)

    def scorer(self, problem: Problem, sandbox: str, run_label: str) -> ProgramScorer:
        return node_state.scorer(problem, sandbox, run_label)

    def gateway_socket(self) -> str:
        from dgm.llm.relay import NodeRelay

        if not self._relay_key[0]:
            raise RuntimeError("this executor was started without a gateway")

        relay = _relays.get(self._relay_key)  # one per worker process and run session
        if relay is None or not relay.alive():
            if relay is not None:
                relay.close()
            try:
                relay = _relays[self._relay_key] = NodeRelay(*self._relay_key)
            except (OSError, RuntimeError) as e:
                raise RelayLost(
                    f"the gateway relay of node {self.node} did not start: {e}"
                ) from None
        self._relay = relay
        return str(relay.socket_path)

    def check_relay(self) -> None:
        """RelayLost when the relay this job was given died."""
        if self._relay is not None and not self._relay.alive():
            raise RelayLost(f"the gateway relay of node {self.node} died during the job")


def run_job(
    job: Job[object], hub: str, token: str, socket_name: str
) -> Iterator[str | tuple[object, str]]:
    """The Ray task: first where it runs, then the job's value with it."""
    import ray

    node = ray.get_runtime_context().get_node_id()
    yield node
    on = RayNode(node, hub, token, socket_name)
    try:
        value = job.run(on)
    finally:  # whatever the job made of its failed LLM calls, a dead relay is the cause
        on.check_relay()
    yield value, node


def sweep_node(run_label: str) -> int:
    from sandbox import remove_run_sandboxes

    return remove_run_sandboxes(run_label)


def resolve_address(address: str | None) -> str:
    """The head's host:port: as given, else RAY_ADDRESS, else what `dgm cluster up` wrote."""
    from dgm.executors.cluster_state import read_state

    address = address or os.environ.get("RAY_ADDRESS")
    if not address:
        state = read_state()
        address = state.address if state else None
    if not address:
        raise UserError(
            "the ray executor needs a cluster: give --ray-address HOST:PORT "
            "(or set RAY_ADDRESS), or start one here with `dgm cluster up`"
        )
    return address


def check_reachable(address: str) -> None:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"--ray-address {address!r} is not HOST:PORT: give the head's GCS address")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S) as conn:
            grpc = speaks_http2(conn)
    except OSError as e:
        raise UserError(
            f"no Ray cluster answers at {address} ({e.strerror or e}): start one "
            "(`dgm cluster up`, or `ray start --head` on the head) or fix --ray-address"
        ) from None
    if not grpc:  # Ray's client would retry it for minutes, then raise a traceback
        raise UserError(
            f"{address} accepts connections but is not a Ray head (no gRPC answer): "
            "give the head's GCS address (`ray status` on the head prints it)"
        )


def speaks_http2(conn: socket.socket) -> bool:
    """Whether the server on `conn` answers HTTP/2's client preface with a SETTINGS frame,
    as Ray's GCS (a gRPC server) does at once."""
    try:
        conn.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
        head = b""
        while len(head) < 9:
            chunk = conn.recv(9 - len(head))
            if not chunk:
                return False
            head += chunk
    except OSError:  # a timeout included: a server that says nothing
        return False
    return head[3] == 4  # the frame type: SETTINGS


def own_node_ip(address: str) -> str | None:
    """This host's address on the route to the head, when a raylet of this machine serves
    on it: the driver joins the cluster through that node. Otherwise None (Ray picks).

    Ray picks among the raylets it sees in this machine's process table, the head's first;
    where network namespaces make hosts of one machine, that may be another host's raylet,
    at an address this host does not have (the driver then cannot serve its gateway's hub)."""
    from ray._private.services import _find_address_from_flag

    host, _, port = address.rpartition(":")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect((host, int(port)))  # no packet is sent: this only picks a route
            ip = str(s.getsockname()[0])
        except (OSError, ValueError):
            return None
    return ip if ip in _find_address_from_flag("--node_ip_address") else None


def check_nodes(nodes: list[NodeInfo], need: Resources, archive_url: str) -> None:
    """A one-line UserError when no node can run a job, or SQLite meets several hosts."""
    sandboxing = [n for n in nodes if n["Resources"].get(SANDBOX_RESOURCE, 0) >= 1]
    if not sandboxing:
        raise UserError(
            f"no node of the Ray cluster can sandbox: start workers with "
            f"`ray start --address ... --resources '{{\"{SANDBOX_RESOURCE}\": N}}'` "
            "on hosts with Docker (or `dgm cluster up`)"
        )
    fits = [
        n
        for n in sandboxing
        if n["Resources"].get("CPU", 0) >= need.cpus
        and n["Resources"].get("memory", 0) >= need.memory_mb * MB
    ]
    if not fits:
        raise UserError(
            f"no sandboxing node has {need.cpus:g} CPUs and {need.memory_mb} MiB for one job: "
            "lower agent_limits (cpus, memory_mb) or add bigger nodes"
        )
    hosts = {n["NodeManagerAddress"] for n in nodes}
    if len(hosts) > 1 and archive_url.startswith("sqlite"):
        raise UserError(
            f"the Ray cluster spans {len(hosts)} hosts but the archive is SQLite on one: "
            "give --archive postgresql+psycopg://... so any host can run the driver"
        )


def connect(spec: ExecutorSpec) -> str:
    """Join the cluster and check it can run the run's jobs; its address. A UserError
    (and no connection left open) when it cannot."""
    import ray

    address = resolve_address(spec.address)
    check_reachable(address)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")  # no GPUs: no warning
    ray.init(
        address=address,
        logging_level=logging.WARNING,
        log_to_driver=False,
        _node_ip_address=own_node_ip(address),
    )
    try:
        check_nodes(RayExecutor.alive_nodes(), spec.job_resources, spec.archive_url)
    except UserError:
        ray.shutdown()
        raise
    return address


def preflight(spec: ExecutorSpec) -> None:
    """`connect`'s checks alone: run them before a run is created."""
    import ray

    connect(spec)
    ray.shutdown()


class RayExecutor(Closing):
    name = "ray"

    def __init__(self, spec: ExecutorSpec) -> None:
        import ray

        self.spec = spec
        self.address = connect(spec)
        self._task = ray.remote(run_job)
        self._sweep = ray.remote(sweep_node)
        self._hub: RelayHub | None = None
        self._socket_name = ""
        self._nodeless_since: float | None = None  # since when no live node can sandbox
        self._live = LiveNodes(self.alive_nodes)  # what every waiting job's `_check` reads
        self.sweep(final=False)  # what a killed session left (orphans), on every node

    @staticmethod
    def alive_nodes() -> list[NodeInfo]:
        import ray

        return [cast(NodeInfo, n) for n in ray.nodes() if n.get("Alive")]

    def start(self, gateway: GatewayApp) -> None:
        import ray.util

        from dgm.llm.relay import RelayHub

        if gateway.socket_path is None:
            raise RuntimeError("start the gateway before the executor")
        self._socket_name = os.path.basename(gateway.socket_path)
        self._hub = RelayHub(gateway, host=ray.util.get_node_ip_address())

    def submit(self, job: Job[T], on_start: OnStart | None = None) -> Done[T]:
        import ray

        hub = (self._hub.address, self._hub.token, self._socket_name) if self._hub else ("", "", "")
        need = job.resources
        refs: ObjectRefGenerator = self._task.options(
            num_cpus=need.cpus,
            memory=need.memory_mb * MB,
            resources={SANDBOX_RESOURCE: 1},
            max_retries=MAX_RETRIES,
            retry_exceptions=False,
        ).remote(job, *hub)
        try:
            node = cast(str, self._next(refs, None))
            if on_start is not None:
                on_start(node)
            value, node = cast(tuple[object, str], self._next(refs, node))
        except ray.exceptions.RayTaskError as e:
            if isinstance(e.cause, EngineUnavailable):  # its own words, not Ray's header line
                raise e.cause from None
            raise
        except (
            ray.exceptions.NodeDiedError,
            ray.exceptions.WorkerCrashedError,
            ray.exceptions.ObjectLostError,
        ) as e:  # Ray's retries ran out: the machinery's failure still, not the job's
            raise NodeLost(f"the job's Ray task was lost: {str(e).splitlines()[0]}") from None
        except (NodeLost, NoNode):
            with contextlib.suppress(Exception):  # Ray's own retry of it must not run too
                ray.cancel(refs, force=True)
            raise
        return Done(cast(T, value), node)

    def _next(self, refs: ObjectRefGenerator, node: str | None) -> object:
        """The task's next value. Waits in slices of POLL_S, checking the nodes between
        them (`_check`)."""
        import ray

        while not ray.wait([refs], timeout=POLL_S, fetch_local=False)[0]:
            self._check(node)
        ref = next(refs)
        while True:
            try:
                return ray.get(ref, timeout=POLL_S)
            except ray.exceptions.GetTimeoutError:
                self._check(node)

    def _check(self, node: str | None) -> None:
        """NodeLost when `node` (where the job started) is not among the live nodes; NoNode
        when no live node has been able to sandbox for NODE_WAIT_S (counted across jobs, so
        a job run again after NoNode does not wait as long once more)."""
        if node is not None and not self._live.lives(node):
            raise NodeLost(f"node {node} died during the job (the head declared it dead)")
        if any(n["Resources"].get(SANDBOX_RESOURCE, 0) >= 1 for n in self._live.get()):
            self._nodeless_since = None
            return
        now = time.monotonic()
        if self._nodeless_since is None:
            self._nodeless_since = now
        elif now - self._nodeless_since > NODE_WAIT_S:
            raise NoNode(
                f"no live node of the Ray cluster could sandbox for {NODE_WAIT_S:g} s: "
                "start a worker (`ray start --address ... --resources "
                f"'{{\"{SANDBOX_RESOURCE}\": N}}'`), then --resume the run"
            )

    def where(self) -> dict[str, str]:
        return {
            n["NodeID"]: f"{n['NodeManagerAddress']}/{n['NodeID'][:8]}"
            for n in self.alive_nodes()
            if n["Resources"].get(SANDBOX_RESOURCE, 0) >= 1
        }

    def sweep(self, final: bool = True) -> int:
        """Orphaned sandboxes, and at the run's end (`final`) every one of the run's,
        removed on every live node."""
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        label = self.spec.run_label if final else ""
        refs = [
            self._sweep.options(
                num_cpus=0,
                scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False),
            ).remote(label)
            for n in self.alive_nodes()
        ]
        # bounded: a node that died since it was listed must not hold the session's end
        done, late = ray.wait(refs, num_returns=len(refs), timeout=SWEEP_WAIT_S)
        if late:
            log.warning("%d node(s) did not sweep their sandboxes in %g s", len(late), SWEEP_WAIT_S)
        swept = 0
        for ref in done:
            with contextlib.suppress(ray.exceptions.RayError):  # its node died meanwhile
                swept += ray.get(ref)
        return swept

    def close(self) -> None:
        import ray

        try:
            self.sweep()
        finally:
            if self._hub is not None:
                self._hub.close()
                self._hub = None
            ray.shutdown()

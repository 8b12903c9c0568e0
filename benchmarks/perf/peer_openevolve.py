"""dgm beside OpenEvolve on OpenEvolve's own example: iterations per second and peak memory.

    python -m benchmarks.perf.peer_openevolve --openevolve-examples DIR
        [--iterations 100] [--parallel P] [--openevolve-version 0.4.1] [--only dgm|openevolve]

Both tools run OpenEvolve's `examples/function_minimization` (DIR/function_minimization,
files as they are: OpenEvolve's PyPI sdist and wheel carry no examples, and no package
registry does, so the directory comes from a checkout of its repository) for the same
number of iterations with the same number of parallel evaluations (default: the example's
`evaluator.parallel_evaluations`), each in a subprocess:
- OpenEvolve itself, its PyPI release installed by this benchmark with uv into a virtual
  environment of its own under the project cache (`DGM_CACHE_DIR`, else ~/.cache/dgm;
  never a dependency of dgm), with the example's config.yaml and only its LLM section and
  `parallel_evaluations` changed. It evaluates in its own worker processes, no sandbox.
- dgm: `dgm run --problem DIR/function_minimization --operator line_edit`, every
  evaluation in the hardened Docker sandbox, into a fresh archive.
Both talk to ONE local OpenAI-protocol HTTP server (dgm.llm.fake_upstream, on a port of this
machine; each tool under its own path so the server can count them) that answers the k-th
request of either tool with edit k: insert the statement `peer_edit = 1001 + k` before the
lines the request points at, in the format the tool asks for. OpenEvolve asks for
SEARCH/REPLACE blocks and points at nothing: the marker goes before the program's
`iterations=` line. dgm's line_edit draws the lines itself and asks for JSON under a schema
(`{"line", "old", "new"}`): the marker goes before them. Every edit applies, compiles and
differs from all others, so each iteration is exactly one model call and one evaluation.
(`--operator diff` would take the same blocks, but it asks at temperature 0 and dgm's
gateway answers a repeated prompt from its recording: the repeats become duplicates,
refused without a call or an evaluation, which is not the same work.)

Prints ONE JSON line:
- dgm_iter_per_s, openevolve_iter_per_s: iterations done / wall time of the process
  (start to exit: start-up, the seed's evaluation and shutdown included); OpenEvolve's
  iterations are the requests the server answered it, dgm's its children and failed
  expansions as its archive holds them (a refused try of line_edit asks again);
- ratio: dgm_iter_per_s / openevolve_iter_per_s (target: >= 1.0);
- dgm_peak_mib, openevolve_peak_mib: peak RSS of each process tree, sampled every 50 ms;
  dgm_sandbox_peak_mib: dgm's sandbox containers (cgroup rss, outside its process tree);
- iterations, parallel, dgm_calls, openevolve_calls (requests the server answered),
  dgm_children, dgm_failed, dgm_rejected, dgm_evaluations (from dgm's archive), dgm_wall_s, openevolve_wall_s,
  openevolve_version, load_avg_1m (other work on the cores slows both);
- dgm_cpu_s, openevolve_cpu_s: CPU seconds (user + system) of each process tree, every
  process it waited for included (OpenEvolve's evaluating workers, dgm's LLM-call writer);
  not dgm's sandbox containers, which Docker runs (their CPU is the evaluations'). On a
  shared machine CPU time moves with the load much less than wall time;
  dgm_sandbox_cpu_s: the CPU seconds of dgm's sandbox containers (their evaluations, each
  one's pre-started interpreter and runner), read with their memory every 0.5 s: a lower
  bound, as a container's last half second before it is removed may be missed;
- dgm_pace, openevolve_pace: seconds from process start to the first model request, and
  iterations per second from the first request to the last (the steady state, without
  start-up and shutdown), as the server saw them;
- dgm_breakdown: where dgm's time went, from its archive (see `dgm_breakdown`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from archive import open_archive
from dgm.llm.fake_upstream import FakeUpstream
from sandbox.image import cache_dir

OPENEVOLVE_VERSION = "0.4.1"
EXAMPLE = "function_minimization"
TOOLS = ("dgm", "openevolve")
DGM = Path(sys.executable).parent / "dgm"
UV = Path(sys.executable).parent / "uv"
KNOB = re.compile(r"^.*\biterations=\d+.*$", re.MULTILINE)
OE_PROGRAM = re.compile(r"# Current Program\n```[a-z]*\n(?P<code>.*?)\n```", re.DOTALL)


class PeerError(Exception):
    """The benchmark cannot run as asked: one line saying why and what to do."""


# --- the edits: the same sequence for both tools, each in its own format


def marker(k: int) -> str:
    """Edit k inserts this statement: distinct for every k (no child repeats another), it
    compiles before any statement and costs the evaluation nothing measurable."""
    return f"peer_edit = {1001 + k}"


def current_program(prompt: str) -> str:
    """The program an OpenEvolve request asks to change: under '# Current Program' (other
    programs may come before it)."""
    m = OE_PROGRAM.search(prompt)
    return m.group("code") if m else ""


def openevolve_answer(k: int, prompt: str) -> str:
    """Edit k as OpenEvolve asks for it: a SEARCH/REPLACE block inserting the marker
    before the program's `iterations=` line (the search function's header)."""
    m = KNOB.search(current_program(prompt))
    if m is None:
        return "I see no `iterations=` line to change."
    line = m.group(0)
    return f"<<<<<<< SEARCH\n{line}\n=======\n{marker(k)}\n{line}\n>>>>>>> REPLACE\n"


def dgm_answer(k: int, request: dict[str, Any]) -> str:
    """Edit k as dgm's line_edit asks for it: JSON under the request's schema, whose
    `line` and `old` each allow one value (the lines the operator drew); `new` is the
    marker, then those lines unchanged."""
    response_format = request.get("response_format") or {}
    props = ((response_format.get("json_schema") or {}).get("schema") or {}).get("properties")
    if not props:
        return "I was not asked for a line edit."
    line, old = props["line"]["enum"][0], props["old"]["enum"][0]
    return json.dumps({"line": line, "old": old, "new": f"{marker(k)}\n{old}"})


def answer(tool: str, k: int, request: dict[str, Any]) -> str:
    if tool == "openevolve":
        return openevolve_answer(k, prompt_text(request))
    return dgm_answer(k, request)


def prompt_text(request: dict[str, Any]) -> str:
    parts = []
    for message in request.get("messages") or []:
        content = message.get("content") or ""
        parts.append(content if isinstance(content, str) else json.dumps(content))
    return "\n".join(parts)


@dataclass
class Edits:
    """The server's answers: edit k to the k-th request of each tool (the first part of the
    request's path names the tool), with the time of every request."""

    calls: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOOLS, 0))
    times: dict[str, list[float]] = field(default_factory=lambda: {t: [] for t in TOOLS})
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, path: str, request: dict[str, Any], index: int = 0) -> str:
        tool = path.strip("/").split("/", 1)[0]
        if tool not in TOOLS:
            return f"no tool at {path}"
        with self.lock:
            k = self.calls[tool]
            self.calls[tool] += 1
            self.times[tool].append(time.monotonic())
        return answer(tool, k, request)


def base_url(up: FakeUpstream, tool: str) -> str:
    """The tool's own path on the one server: /dgm/v1, /openevolve/v1."""
    return up.base_url.removesuffix("/v1") + f"/{tool}/v1"


# --- memory: peak RSS of a process tree, and of dgm's sandbox containers


def children_of() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kib(root: int) -> int:
    """RSS of `root` and all its descendants now (shared pages counted in each, as `ps`)."""
    tree, total, todo = children_of(), 0, [root]
    while todo:
        pid = todo.pop()
        total += rss_kib(pid)
        todo.extend(tree.get(pid, []))
    return total


def container_stats(owner: str) -> tuple[int, dict[str, float]]:
    """RSS (cgroup v1 total_rss, or v2 anon) of the live sandbox containers of `owner`, and
    each one's CPU seconds so far."""
    import docker

    client = docker.from_env()
    try:
        ids = [c["Id"] for c in client.api.containers(filters={"label": f"dgm.owner={owner}"})]
    finally:
        client.close()
    total, cpu = 0, {}
    for cid in ids:
        for stat, key in (
            (f"/sys/fs/cgroup/memory/docker/{cid}/memory.stat", "total_rss"),
            (f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/memory.stat", "anon"),
        ):
            try:
                lines = Path(stat).read_text().splitlines()
            except OSError:
                continue
            total += next((int(v) for k, v in map(str.split, lines) if k == key), 0) // 1024
            break
        used = container_cpu_s(cid)
        if used is not None:
            cpu[cid] = used
    return total, cpu


def container_cpu_s(cid: str) -> float | None:
    """A container's CPU seconds so far (cgroup v1 cpuacct.usage, or v2 cpu.stat's
    usage_usec); None when it is gone."""
    try:
        return int(Path(f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage").read_text()) / 1e9
    except (OSError, ValueError):
        pass
    try:
        stat = Path(f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/cpu.stat").read_text()
    except OSError:
        return None
    usec = next((v for k, v in map(str.split, stat.splitlines()) if k == "usage_usec"), None)
    return int(usec) / 1e6 if usec is not None else None


@dataclass
class Measured:
    started: float  # time.monotonic() at the start, as the server's request times
    started_wall: float  # time.time() at the start, as the archive's
    wall_s: float
    cpu_s: float  # user + system of the process and the descendants it waited for
    peak_mib: float
    sandbox_peak_mib: float | None
    sandbox_cpu_s: float | None  # at least: a container's last half second may be missed
    returncode: int
    tail: str


def measure(argv: list[str], env: dict[str, str], cwd: Path, containers: bool) -> Measured:
    """Run `argv` to its end, sampling its process tree's RSS every 50 ms (and, with
    `containers`, its sandbox containers' every 0.5 s: listing them costs the engine)."""
    from sandbox.owner import owner_token

    started, started_wall = time.monotonic(), time.time()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    peak, box_peak, last_box = 0, 0, 0.0
    box_cpu: dict[str, float] = {}
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(proc.stdout or []), daemon=True)
    reader.start()
    owner = owner_token(proc.pid)
    while proc.poll() is None:
        peak = max(peak, tree_rss_kib(proc.pid))
        if containers and time.monotonic() - last_box >= 0.5:
            rss, box_now = container_stats(owner)
            box_peak, last_box = max(box_peak, rss), time.monotonic()
            box_cpu.update(box_now)
        time.sleep(0.05)
    wall = time.monotonic() - started
    reader.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Measured(
        started,
        started_wall,
        wall,
        round(cpu, 2),
        round(peak / 1024, 1),
        round(box_peak / 1024, 1) if containers else None,
        round(sum(box_cpu.values()), 2) if containers else None,
        proc.returncode,
        " | ".join("".join(output).strip().splitlines()[-4:]),
    )


# --- OpenEvolve: its own environment, its config with our server


def openevolve_python(version: str, example: Path, console: Console) -> Path:
    """The interpreter of a virtual environment holding openevolve==VERSION and the
    example's requirements, made once with uv under the project cache."""
    reqs = example / "requirements.txt"
    wanted = f"openevolve=={version}\n" + (reqs.read_text() if reqs.is_file() else "")
    key = hashlib.sha256(wanted.encode()).hexdigest()[:12]
    home = cache_dir() / "peer_openevolve" / f"openevolve-{version}-{key}"
    python = home / "bin" / "python"
    ready = home / ".ready"  # written last: a half-made environment is made again
    if ready.is_file():
        return python
    if not UV.exists():
        raise PeerError(f"uv is missing at {UV}: run scripts/setup.sh first")
    console.print(f"installing openevolve=={version} into {home} (once)")
    shutil.rmtree(home, ignore_errors=True)
    env = {**os.environ, "VIRTUAL_ENV": str(home)}
    for argv in (
        [str(UV), "venv", "-q", "--python", sys.executable, str(home)],
        [str(UV), "pip", "install", "-q", f"openevolve=={version}"]
        + (["-r", str(reqs)] if reqs.is_file() else []),
    ):
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise PeerError(f"installing openevolve failed: {done.stderr.strip()[-300:]}")
    ready.write_text(wanted)
    return python


def openevolve_config(example: Path, base_url: str, parallel: int, out: Path) -> Path:
    """The example's config.yaml with its LLM pointed at our server (one model) and
    `evaluator.parallel_evaluations` set; everything else as the example has it."""
    source = example / "config.yaml"
    config = (yaml.safe_load(source.read_text()) if source.is_file() else None) or {}
    llm = {
        k: v
        for k, v in (config.get("llm") or {}).items()
        if k not in ("primary_model_weight", "secondary_model", "secondary_model_weight")
    }
    llm.update(primary_model="peer", api_base=base_url, api_key="no-key", retries=0)
    config["llm"] = llm
    config["evaluator"] = {**(config.get("evaluator") or {}), "parallel_evaluations": parallel}
    out.write_text(yaml.safe_dump(config))
    return out


def run_openevolve(
    python: Path, example: Path, url: str, iterations: int, parallel: int, tmp: Path
) -> Measured:
    config = openevolve_config(example, url, parallel, tmp / "openevolve.yaml")
    argv = [
        str(python.parent / "openevolve-run"),
        str(example / "initial_program.py"),
        str(example / "evaluator.py"),
        "--config",
        str(config),
        "--iterations",
        str(iterations),
        "--output",
        str(tmp / "openevolve_output"),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    return measure(argv, {**env, "OPENAI_API_KEY": "no-key"}, tmp, containers=False)


def run_dgm(example: Path, url: str, iterations: int, parallel: int, tmp: Path) -> Measured:
    argv = [
        str(DGM),
        "run",
        "--problem",
        str(example),
        "--operator",
        "line_edit",
        "--model",
        "openai/peer",
        "--api-base",
        url,
        "--max-iterations",
        str(iterations),
        "--workers",
        str(parallel),
        "--seed",
        "0",
        "--archive",
        str(tmp / "dgm.db"),
        # every sample a whole-line edit: the server inserts the same line OpenEvolve gets
        *("--set", "line_edit.token_share=0"),
        "--quiet",
    ]
    return measure(argv, {**os.environ, "NO_COLOR": "1"}, tmp, containers=True)


def dgm_counts(db: Path) -> dict[str, int]:
    """Children made (rejected ones included), expansions that failed (no usable edit),
    children rejected before evaluation, and evaluations, of the one run in dgm's archive."""
    store = open_archive(db)
    try:
        [run] = store.runs()
        agents = store.agents(run.id)
        failed = sum(1 for e in store.events(run.id) if e.kind == "expansion_failed")
        return {
            "dgm_children": sum(1 for a in agents if a.parent_id is not None),
            "dgm_failed": failed,
            "dgm_rejected": sum(1 for a in agents if a.status == "rejected"),
            "dgm_evaluations": sum(a.n_evaluated for a in agents),
        }
    finally:
        store.close()


def dgm_breakdown(db: Path, m: Measured, workers: int) -> dict[str, float | None]:
    """Where dgm's wall time went, from its archive: start-up (process start to the
    session's first event: imports, config, problem image, sandbox pool), the seed's
    evaluation (session start to its score: its sandbox made and started), the session, the
    shutdown (last event to exit: sandboxes removed, writers closed); in the session, the
    evaluations (sandbox put, run, get, recorded as each evaluation's duration) and the model
    calls (through the gateway), summed over the workers; `other_share`: the rest of the
    workers' session time (prompt building, archive writes, scheduling, waiting)."""
    store = open_archive(db)
    try:
        [run] = store.runs()
        events = store.events(run.id, kinds=("session_started", "session_stopped"))
        seed_done = store.events(run.id, kinds=("agent_finalised",))[:1]
        evals = [e.duration_s for a in store.agents(run.id) for e in store.evaluations(a.id)]
        calls = [c.latency_s for c in store.llm_calls(run.id, bodies=False)]
    finally:
        store.close()
    if len(events) < 2:
        return {}
    session = events[-1].created_at - events[0].created_at
    busy = session * workers
    return {
        "startup_s": round(events[0].created_at - m.started_wall, 2),
        "seed_s": round(seed_done[0].created_at - events[0].created_at, 2) if seed_done else None,
        "session_s": round(session, 2),
        "shutdown_s": round(m.started_wall + m.wall_s - events[-1].created_at, 2),
        "eval_s_p50": round(statistics.median(evals), 3) if evals else None,
        "eval_share": round(sum(evals) / busy, 3) if busy > 0 else None,
        "llm_first_s": round(calls[0], 3) if calls else None,
        "llm_s_p50": round(statistics.median(calls), 3) if calls else None,
        "llm_share": round(sum(calls) / busy, 3) if busy > 0 else None,
        "other_share": round(1 - (sum(evals) + sum(calls)) / busy, 3) if busy > 0 else None,
    }


def call_pace(times: list[float], m: Measured | None) -> dict[str, float | None]:
    """From the server's side, the same for both tools: process start to the first model
    request (start-up and the initial program's evaluation), and iterations per second
    between the first request and the last."""
    if m is None or not times:
        return {"first_call_s": None, "steady_iter_per_s": None}
    span = times[-1] - times[0]
    return {
        "first_call_s": round(times[0] - m.started, 2),
        "steady_iter_per_s": round((len(times) - 1) / span, 3) if span > 0 else None,
    }


def parallel_of(example: Path) -> int:
    """The example's own `evaluator.parallel_evaluations` (OpenEvolve's default: 1)."""
    config = example / "config.yaml"
    raw = (yaml.safe_load(config.read_text()) if config.is_file() else None) or {}
    value = (raw.get("evaluator") or {}).get("parallel_evaluations", 1)
    return value if isinstance(value, int) and value >= 1 else 1


def example_dir(examples: str | None) -> Path:
    if not examples:
        raise PeerError(
            "pass --openevolve-examples DIR: the examples/ folder of an OpenEvolve checkout "
            "(its PyPI packages ship no examples)"
        )
    example = Path(examples).expanduser().resolve() / EXAMPLE
    for name in ("initial_program.py", "evaluator.py"):
        if not (example / name).is_file():
            raise PeerError(f"{example / name} is missing: is {examples} OpenEvolve's examples/?")
    return example


def rate(calls: int, m: Measured | None) -> float | None:
    return round(calls / m.wall_s, 3) if m is not None and m.wall_s > 0 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--openevolve-examples", help="OpenEvolve's examples/ directory")
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument(
        "--parallel", type=int, default=None, help="default: the example's parallel_evaluations"
    )
    parser.add_argument("--openevolve-version", default=OPENEVOLVE_VERSION)
    parser.add_argument("--only", choices=TOOLS, help="run one side only")
    args = parser.parse_args()
    console = Console(stderr=True)
    try:
        example = example_dir(args.openevolve_examples)
        if args.iterations < 1 or (args.parallel is not None and args.parallel < 1):
            raise PeerError("--iterations and --parallel must be at least 1")
        parallel = args.parallel or parallel_of(example)
        python = None
        if args.only != "dgm":
            python = openevolve_python(args.openevolve_version, example, console)
    except PeerError as e:
        console.print(f"error: {e}")
        raise SystemExit(2) from None
    load_avg = os.getloadavg()[0]
    results: dict[str, Measured | None] = dict.fromkeys(TOOLS)
    counts: dict[str, int] = {}
    breakdown: dict[str, float | None] = {}
    edits = Edits()
    with tempfile.TemporaryDirectory() as tmp, FakeUpstream(reply=edits) as server:
        if python is not None:
            console.print(f"openevolve: {args.iterations} iterations, {parallel} in parallel")
            (Path(tmp) / "oe").mkdir()
            oe = run_openevolve(
                python,
                example,
                base_url(server, "openevolve"),
                args.iterations,
                parallel,
                Path(tmp) / "oe",
            )
            if oe.returncode != 0:
                raise SystemExit(f"openevolve exited {oe.returncode}: {oe.tail}")
            results["openevolve"] = oe
        if args.only != "openevolve":
            console.print(f"dgm: {args.iterations} iterations, {parallel} in parallel")
            (Path(tmp) / "dgm").mkdir()
            ours = run_dgm(
                example, base_url(server, "dgm"), args.iterations, parallel, Path(tmp) / "dgm"
            )
            if ours.returncode != 0:
                raise SystemExit(f"dgm exited {ours.returncode}: {ours.tail}")
            results["dgm"] = ours
            counts = dgm_counts(Path(tmp) / "dgm" / "dgm.db")
            breakdown = dgm_breakdown(Path(tmp) / "dgm" / "dgm.db", ours, parallel)
        calls, times = dict(edits.calls), dict(edits.times)
    # an iteration of dgm made a child or failed (a refused try asks the server again)
    dgm_rate = rate(counts.get("dgm_children", 0) + counts.get("dgm_failed", 0), results["dgm"])
    oe_rate = rate(calls["openevolve"], results["openevolve"])
    dgm_m, oe_m = results["dgm"], results["openevolve"]
    print(
        json.dumps(
            {
                "dgm_iter_per_s": dgm_rate,
                "openevolve_iter_per_s": oe_rate,
                "ratio": round(dgm_rate / oe_rate, 3) if dgm_rate and oe_rate else None,
                "dgm_peak_mib": dgm_m.peak_mib if dgm_m else None,
                "openevolve_peak_mib": oe_m.peak_mib if oe_m else None,
                "dgm_sandbox_peak_mib": dgm_m.sandbox_peak_mib if dgm_m else None,
                "iterations": args.iterations,
                "parallel": parallel,
                "dgm_calls": calls["dgm"],
                "openevolve_calls": calls["openevolve"],
                **counts,
                "dgm_wall_s": round(dgm_m.wall_s, 2) if dgm_m else None,
                "openevolve_wall_s": round(oe_m.wall_s, 2) if oe_m else None,
                "dgm_cpu_s": dgm_m.cpu_s if dgm_m else None,
                "openevolve_cpu_s": oe_m.cpu_s if oe_m else None,
                "dgm_sandbox_cpu_s": dgm_m.sandbox_cpu_s if dgm_m else None,
                "dgm_pace": call_pace(times["dgm"], dgm_m),
                "openevolve_pace": call_pace(times["openevolve"], oe_m),
                "dgm_breakdown": breakdown,
                "openevolve_version": args.openevolve_version,
                "load_avg_1m": round(load_avg, 2),
            }
        )
    )


if __name__ == "__main__":
    main()

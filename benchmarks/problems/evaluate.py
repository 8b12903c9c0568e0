"""Score candidate programs of one problem, each in a fresh hardened sandbox.

    with open_problem_backend(problem) as backend:
        ev = Evaluator(problem, backend)
        result = ev.evaluate()                      # the seed
        result = ev.evaluate({"problem/heuristic.py": code})

The evaluator is as untrusted as the candidate: both only ever run in the sandbox (no
network, capabilities dropped, memory/pids/CPU caps, a deadline that kills). Whatever
they do, `evaluate` returns an `Evaluation`; a failure says why, it never raises for it.
"""

from __future__ import annotations

import importlib.util
import marshal
import math
import sys
from collections.abc import Callable

from benchmarks.problems import openevolve, reevo
from benchmarks.problems.openevolve import PRIMARY
from benchmarks.problems.problem import (
    HARNESS,
    HARNESS_DIR,
    REPORT_DIR,
    TASK,
    Problem,
    ProblemError,
)
from benchmarks.problems.result import Evaluation, Split, clip, finite_metrics, read_json
from sandbox import (
    EngineUnavailable,
    ExecResult,
    FilesRun,
    Limits,
    SandboxBackend,
    SandboxError,
    Status,
    open_backend,
)

VIOLATION_EXIT = 86  # harness/sitecustomize.py ends a process with it on a tripwire


def harness_files() -> dict[str, bytes]:
    """The in-sandbox helpers, by path under /task: the evaluate() runner, the tripwire,
    and the openevolve shim."""
    rel = HARNESS.removeprefix(TASK + "/")
    return {
        f"{rel}/{f.relative_to(HARNESS_DIR).as_posix()}": f.read_bytes()
        for f in sorted(HARNESS_DIR.rglob("*.py"))
        if "__pycache__" not in f.parts
    }


def bytecode(files: dict[str, bytes]) -> dict[str, bytes]:
    """The `__pycache__` entries of the Python files among `files` (path under /task ->
    source): checked-hash .pyc, which the sandbox's interpreter uses only while the source
    hashes the same (a changed file is compiled from source, as without them) and only if
    its bytecode magic is the host's (both are CPython 3.11). Compiling the evaluator and
    the harness in every forked child cost a third of a quick evaluation's CPU. The
    tripwire guards these as it guards their sources (harness/sitecustomize.py)."""
    tag = sys.implementation.cache_tag
    out: dict[str, bytes] = {}
    for name, source in files.items():
        folder, _, file = name.rpartition("/")
        if not file.endswith(".py") or file.count(".") != 1 or tag is None:
            continue
        try:
            code = compile(source, f"{TASK}/{name}", "exec", dont_inherit=True, optimize=0)
        except Exception:  # noqa: BLE001 - a syntax error, a source too deep to compile...
            continue  # the sandbox reports it, as it would without a cache
        header = importlib.util.MAGIC_NUMBER + (0b11).to_bytes(4, "little")  # hash, checked
        cache = f"{folder}/__pycache__/{file[:-3]}.{tag}.pyc".lstrip("/")
        out[cache] = header + importlib.util.source_hash(source) + marshal.dumps(code)
    return out


def heldout_files(problem: Problem) -> dict[str, bytes]:
    """The problem's held-out files by sandbox path under /task (read from its folder)."""
    out: dict[str, bytes] = {}
    for rel in problem.heldout:
        # /task/<first part>/... is the problem's folder: problem/ (dgm), problems/NAME/ (ReEvo)
        depth = 2 if problem.layout == "reevo" else 1
        host = problem.root.joinpath(*rel.split("/")[depth:])
        if not host.is_file():
            raise ProblemError(f"held-out file {host} does not exist")
        out[rel] = host.read_bytes()
    return out


def problem_image(problem: Problem, step: Callable[[str], None] = lambda _m: None) -> str:
    """The sandbox image with the problem's packages (a cached layer; the base image when
    it needs none)."""
    from sandbox import image
    from sandbox.docker_backend import connect

    if problem.layout == "container":
        from benchmarks.problems.container import evaluator_image

        return evaluator_image(problem, step)
    client = connect()
    base = image.image_tag()
    if not image.image_exists(client, base):
        raise SandboxError(f"sandbox image {base} is not built: run `dgm sandbox build`")
    return image.build_layer(client, base, pip=problem.requirements, apt=problem.apt, step=step)


def open_problem_backend(
    problem: Problem,
    name: str = "docker",
    *,
    pool_size: int = 2,
    run_label: str = "problem",
    step: Callable[[str], None] = lambda _m: None,
    recycle: bool = True,
    prefill: bool = True,
) -> SandboxBackend:
    """A sandbox backend whose sandboxes hold the problem's packages. Docker containers are
    recycled unless `recycle` is False: the runner empties each one and checks it is as it
    started before the next candidate gets it (docs/sandbox.md), as a container per
    candidate caps a 2-core machine at about 3 evaluations a second. An OpenEvolve
    evaluator's packages are imported once per container, by a pre-started interpreter
    each evaluation forks from (sandbox/zygote.py). With `prefill`, containers for the
    problem's own evaluations start at once, while the caller starts up."""
    if name == "docker":
        from sandbox.docker_backend import DockerBackend

        backend = DockerBackend(
            image=problem_image(problem, step),
            run_label=run_label,
            pool_size=pool_size,
            recycle=recycle,
            unprivileged=True,  # a container evaluator's own image: still not root
            preload=preloaded(problem) if recycle else (),
        )
        if prefill:  # the first evaluation then finds a container ready, its imports done
            backend.prefill(evaluation_limits(problem))
        return backend
    if problem.layout == "container":
        raise SandboxError(
            f"{problem.name} is a container evaluator: it runs in Docker (use the docker sandbox)"
        )
    return open_backend(name)


def preloaded(problem: Problem) -> tuple[str, ...]:
    """What a container's pre-started interpreter loads for this problem: for the OpenEvolve
    layout (its command is one `python3`), `openevolve.preload_modules`."""
    return openevolve.preload_modules(problem) if problem.layout == "openevolve" else ()


def evaluation_limits(problem: Problem) -> Limits:
    """The sandbox limits of one evaluation of `problem`."""
    return Limits(timeout_s=problem.timeout_s, memory_mb=problem.memory_mb, cpus=1.0)


class Evaluator:
    """Scores candidates of one problem. Thread-safe: each call opens its own sandbox.

    split: "train" (the default) never puts the problem's held-out files in the sandbox;
    "heldout" puts them in and sets DGM_SPLIT=heldout, so the evaluator scores on them
    (STOP scores an improver's result so; see docs/problems.md)."""

    def __init__(self, problem: Problem, backend: SandboxBackend, split: Split = "train") -> None:
        self.problem = problem
        self.backend = backend
        self.split = split
        self.limits = evaluation_limits(problem)
        # Read once: every evaluation puts the same evaluator files in.
        heldout = heldout_files(problem) if split == "heldout" else {}
        # a container evaluator brings its own scorer and reports on stdout: no harness
        harness = harness_files() if problem.layout != "container" else {}
        sources = {
            **{k: f.read_bytes() for k, f in problem.files.items()},
            **heldout,
            **harness,
        }
        # a container evaluator's own image may run another Python: no caches for it
        self.payload = {**sources, **(bytecode(sources) if harness else {})}

    def evaluate(self, program: dict[str, str] | None = None) -> Evaluation:
        """Score `program` (sandbox path under /task -> source; default: the seed)."""
        p = self.problem
        program = {**p.seed(), **(program or {})}
        unknown = sorted(set(program) - set(p.program))
        if unknown:
            return Evaluation.failed(
                p.direction, f"not a file of this problem's program: {', '.join(unknown)}"
            )
        env = {
            "PYTHONPATH": HARNESS,
            "DGM_GUARD_CANDIDATES": ":".join(f"{TASK}/{f}" for f in program),
            "DGM_GUARD_PROTECTED": f"{TASK}:{REPORT_DIR}",
            "DGM_GUARD_REPORT": f"{REPORT_DIR}/violations",
            "DGM_SPLIT": self.split,
        }
        try:
            with self.backend.open(self.limits) as sb:
                files = {**self.payload, **{k: v.encode() for k, v in program.items()}}
                # Files in, the evaluation, and the result and tripwire files out, in one
                # exchange with the sandbox (its round trips were most of a quick
                # evaluation's cost). The report directory is made by the harness's
                # sitecustomize, in the evaluation's first Python process.
                done = sb.run_with_files(
                    files,
                    TASK,
                    p.command,
                    fetch=REPORT_DIR,
                    timeout_s=p.timeout_s,
                    workdir=p.workdir,
                    env=env,
                )
        except EngineUnavailable:  # not the program's failure: the caller may run it again
            raise
        except SandboxError as e:
            return Evaluation.failed(
                p.direction, f"the sandbox failed: {str(e).splitlines()[0][:300]}"
            )
        return read_result(p, done.result, reports_of(done))


def reports_of(done: FilesRun) -> dict[str, bytes]:
    """The result and tripwire files; none after a broken sandbox (its status says what
    happened), and the reason as "error" when they could not be read."""
    if done.result.status is Status.sandbox_error:
        return {}
    return {"error": done.files_error.encode()} if done.files_error else done.files


def run_failure(p: Problem, r: ExecResult, reports: dict[str, bytes]) -> str | None:
    """Why the evaluation's run failed before any score could count, whatever the reader:
    a tripwire, the deadline, memory, the sandbox, an output flood, a signal."""
    violation = reports.get("violations", b"").decode(errors="replace").strip()
    if violation:
        return violation.splitlines()[0]
    if r.exit_code == VIOLATION_EXIT and p.reader != "reevo_stdout":
        return "the tripwire ended the evaluation (its report was lost)"
    if r.status is Status.timeout:
        return f"timed out: the evaluation passed its deadline of {p.timeout_s:g}s"
    if r.status is Status.oom:
        return f"out of memory (limit {p.memory_mb} MiB)"
    if r.status is Status.sandbox_error:
        return f"the sandbox failed: {r.stderr.strip()[:300]}"
    if r.output_cut:
        return f"output flood: the evaluation wrote more than {r.output_cap_bytes} bytes"
    if r.status is Status.killed:
        return f"killed by a signal (exit code {r.exit_code})"
    return None


def read_result(p: Problem, r: ExecResult, reports: dict[str, bytes]) -> Evaluation:
    """What the run left behind, as an Evaluation (or the reason it failed)."""
    output = r.stdout + ("\n" + r.stderr if r.stderr.strip() else "")
    if failure := run_failure(p, r, reports):
        return Evaluation.failed(p.direction, failure, clip(output), r.duration_s)
    if p.reader == "reevo_stdout":
        return read_reevo(p, r)
    if p.reader == "container_json":
        return read_container_json(p, r)
    if r.status is not Status.ok:
        return Evaluation.failed(
            p.direction,
            f"the evaluator failed with exit code {r.exit_code}: {last_line(output)}",
            clip(output),
            r.duration_s,
        )
    if p.reader == "json_line":
        return read_json_line(p, r)
    return read_result_file(p, r, reports)


def read_reevo(p: Problem, r: ExecResult) -> Evaluation:
    out = r.stdout  # stdout and stderr in one stream, as ReEvo runs eval.py
    traceback = reevo.filter_traceback(out)
    if traceback:
        return Evaluation.failed(
            p.direction,
            f"the evaluation raised: {last_line(traceback)}",
            clip(traceback),
            r.duration_s,
        )
    try:
        obj = reevo.objective(out)
    except (ValueError, IndexError):
        return Evaluation.failed(
            p.direction,
            f"invalid stdout / objective value: the last line is {last_line(out)!r}",
            clip(out),
            r.duration_s,
        )
    # Like ReEvo, the exit code is not looked at: a traceback or the last line decides.
    return scored(p, obj, {"objective": obj}, "", r)


def read_container_json(p: Problem, r: ExecResult) -> Evaluation:
    """SkyDiscover's evaluate.sh protocol: one JSON object on stdout (status,
    combined_score, metrics, artifacts); exit code 1 is the evaluator's own crash."""
    output = r.stdout + ("\n" + r.stderr if r.stderr.strip() else "")
    if r.exit_code == 1:
        return Evaluation.failed(
            p.direction,
            f"the evaluator crashed (exit code 1): {last_line(r.stderr or r.stdout)}",
            clip(output),
            r.duration_s,
        )
    try:
        data = read_json(r.stdout.strip() or "null")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return Evaluation.failed(
            p.direction,
            f"evaluate.sh printed no JSON object: {last_line(r.stdout)!r}",
            clip(output),
            r.duration_s,
        )
    metrics = data.get("metrics")
    metrics = metrics if isinstance(metrics, dict) else {}
    raw = {**metrics, **({PRIMARY: data[PRIMARY]} if PRIMARY in data else {})}
    artifacts = data.get("artifacts")
    artifacts = artifacts if isinstance(artifacts, dict) else {}
    notes = {str(k): str(v) for k, v in artifacts.items()}
    status = data.get("status", "error")
    if status != "success":
        why = notes.get("error") or notes.get("stderr") or last_line(r.stderr)
        return Evaluation.failed(
            p.direction,
            f"the evaluator's status is {str(status)[:40]}: {why[:300]}",
            clip(output),
            r.duration_s,
            finite_metrics(raw),
        )
    return from_metrics(p, raw, notes, r)


def read_json_line(p: Problem, r: ExecResult) -> Evaluation:
    line = last_line(r.stdout, limit=None)  # all of it: a cut line is another number
    try:
        value = read_json(line)
    except ValueError:
        return Evaluation.failed(
            p.direction,
            f"the evaluator's last line is not a number or a JSON object: {line[:200]!r}",
            clip(r.stdout + r.stderr),
            r.duration_s,
        )
    raw = value if isinstance(value, dict) else {p.primary: value}
    return from_metrics(p, raw, {}, r)


def read_result_file(p: Problem, r: ExecResult, reports: dict[str, bytes]) -> Evaluation:
    if "error" in reports:
        why = reports["error"].decode(errors="replace").splitlines()[0][:300]
        return Evaluation.failed(
            p.direction,
            f"could not read the evaluator's result: {why}",
            clip(r.stdout + r.stderr),
            r.duration_s,
        )
    data = reports.get("result.json")
    try:
        result = read_json(data or b"")
        raw, artifacts = dict(result["metrics"]), dict(result.get("artifacts") or {})
    except (ValueError, KeyError, TypeError, AttributeError):
        return Evaluation.failed(
            p.direction, "the evaluator left no result", clip(r.stdout + r.stderr), r.duration_s
        )
    return from_metrics(p, raw, artifacts, r)


def from_metrics(
    p: Problem, raw: dict[str, object], artifacts: dict[str, str], r: ExecResult
) -> Evaluation:
    metrics = finite_metrics(raw)
    notes = [
        f"{k}: {v['repr'] if isinstance(v, dict) and 'repr' in v else v}"
        for k, v in raw.items()
        if k not in metrics
    ]
    feedback = "\n".join(
        [*(f"{k}: {v}" for k, v in artifacts.items()), *notes, r.stderr.strip()[-1500:]]
    ).strip()
    if p.primary in raw and p.primary not in metrics:
        return Evaluation.failed(
            p.direction,
            f"the primary score {p.primary} is not a finite number: {notes_of(raw[p.primary])}",
            feedback,
            r.duration_s,
            metrics,
        )
    score = openevolve.fitness(metrics) if p.layout == "openevolve" else metrics.get(p.primary)
    if score is None:
        return Evaluation.failed(
            p.direction,
            f"the evaluator gave no {p.primary} (metrics: {', '.join(raw) or 'none'})",
            feedback,
            r.duration_s,
            metrics,
        )
    return scored(p, score, metrics, feedback, r)


def scored(
    p: Problem, score: float, metrics: dict[str, float], feedback: str, r: ExecResult
) -> Evaluation:
    if not math.isfinite(score):
        return Evaluation.failed(
            p.direction,
            f"the score is not a finite number: {score}",
            feedback,
            r.duration_s,
            finite_metrics(dict(metrics)),  # ReEvo's objective is one: never inf in JSON
        )
    return Evaluation(
        ok=True,
        score=score,
        direction=p.direction,
        metrics=metrics,
        feedback=clip(feedback),
        duration_s=r.duration_s,
    )


def notes_of(value: object) -> str:
    return str(value["repr"]) if isinstance(value, dict) and "repr" in value else repr(value)


def last_line(text: str, limit: int | None = 300) -> str:
    """The last non-blank line, cut to `limit` characters for a message (None: whole)."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip()[:limit] if lines else "(no output)"

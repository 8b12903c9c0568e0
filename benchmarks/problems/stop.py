"""STOP (the Self-Taught Optimizer) on any problem: an improver and its meta-utility.

An improver is a program `improve(solution, utility, language_model) -> solution` (STOP's
`improve_algorithm` is accepted too). Its meta-utility is the mean score of what it
returns over K seeded downstream runs on a problem, each run starting from the problem's
seed program:

    score = meta_utility({"improver.py": code}, problem, backend, open_sampler, budgets, seeds)

- The improver runs in a sandbox of its own, with nothing of the problem but the solution
  text and the problem's description: not the evaluator, not its data.
- Its `utility(solution)` and `language_model` calls leave the sandbox through a socket
  to `StopServer` here, which counts them against the run's budgets (`StopBudgets`):
  utility calls, language-model calls, and samples per call. The improver cannot reach
  the counters. `utility` scores on the problem's training split, in a fresh sandbox per
  call; it is oriented so that higher is better, and a failed evaluation is -inf.
- The returned solution is scored on the problem's held-out split (`split="heldout"`),
  in a fresh sandbox, by the problem's own evaluator.
- Budgets, as STOP's code keeps them: a language-model call past `lm_calls` raises
  STOP's `Exception("Error: You have exceeded your call budget.")` in the improver
  (language_model.py:98-100), and a call asking more than `samples_per_call` samples
  raises an AssertionError (language_model.py:97); no sample is drawn. A utility call past
  `utility_calls` returns 0 (tasks/parity_noise/secret_utility.py:13-15), as does a call
  with no solution (an answer without code: secret_utility.py:16-18, not counted) or one
  whose solution fails to score. The improver may catch the exceptions and go on; what it
  returns is scored as any run's. On a 'min' problem 0 would be a good score, so there
  these calls return -inf (the failed score of `oriented`).
- A downstream run that fails (raised, e.g. a refusal it did not catch, past its
  deadline, no string returned, or a solution that does not score) counts 0 in the mean,
  as STOP's check of an improvement counts it (tasks/meta_optimization/secret_utility.py:62,
  112-114); with `strict` (the meta-utility an improver calls) a run whose improver raised
  fails the whole meta-utility, as STOP's does there (secret_utility.py:46-63, 106-110).
  STOP's utilities are maximised with 0 the worst score; on a 'min' problem no score
  means "failed", so there a failed run still fails the whole meta-utility, with the reason.
- The mean is taken on the `split` the caller chooses (STOP: the split its improvers'
  utility uses); with `report`, each solution is also scored on that split, reported
  in the metrics and never used to choose (STOP's test split).

Language-model samples come from `open_sampler(label, most_samples, seed)`: the caller's
(dgm's gateway, which also caps the run at lm_calls * samples_per_call samples). This
module knows nothing of dgm.
"""

from __future__ import annotations

import json
import math
import os
import posixpath
import secrets
import shutil
import socketserver
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from benchmarks.problems.evaluate import Evaluator
from benchmarks.problems.problem import Problem, ProblemError
from benchmarks.problems.result import Evaluation, Split, clip
from sandbox import Limits, SandboxBackend, SandboxError, Status
from sandbox.closing import Closing
from sandbox.protocol import GATEWAY_DIR, MemoryMb, Seconds

HERE = Path(__file__).resolve().parent
RUNNER_DIR = HERE / "stop_harness"  # run_improver.py and STOP's helpers.py, for the sandbox
SEED_IMPROVER = HERE / "stop_seed" / "improver.py"  # STOP's seed improver, as STOP wrote it
IMPROVER_FILE = "improver.py"  # an improver's main file (the archive's code of one node)
MAX_BODY = 16 << 20  # bytes of one request from an improver (a solution, a batch of prompts)


class StopBudgets(BaseModel):
    """What one downstream run may spend (STOP's config: n=6 samples, m=4 calls)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    runs: int = Field(default=3, ge=1, description="Downstream runs (K) a meta-utility averages.")
    lm_calls: int = Field(default=4, ge=0, description="Language-model calls of one run.")
    samples_per_call: int = Field(
        default=6, ge=1, description="Most samples (completions) one language-model call asks."
    )
    utility_calls: int = Field(
        default=25, ge=0, description="Calls of utility() one run may make (STOP: n*m+1)."
    )
    timeout_s: Seconds = Field(
        default=600.0, description="Deadline of one improver run in its sandbox (seconds)."
    )
    self_timeout_s: Seconds = Field(
        default=7200.0,
        description="Deadline of the improver improving itself (operator stop), whose every utility call is a meta-utility (seconds; STOP's 2 hours).",
    )
    memory_mb: MemoryMb = Field(default=1024, description="Memory of the improver's sandbox.")
    max_tokens: int = Field(
        default=1024, ge=1, description="Most tokens of one sample (STOP's MAX_TOKENS)."
    )


class Sampler(Protocol):
    """One run's language model: one completion per `sample` call; `samples` draws n
    completions of one message (STOP's `prompt` with `n_responses`), from one request
    where the model takes `n`."""

    def sample(self, system: str, user: str, temperature: float) -> str: ...

    def samples(self, system: str, user: str, temperature: float, n: int) -> list[str]: ...

    def close(self) -> None: ...


OpenSampler = Callable[[str, int, int], Sampler]
"""(label of the run, most samples it may draw, seed) -> its Sampler."""


class Refused(Exception):
    """A language-model call STOP's LanguageModel refuses: the improver sees `raises`
    (a builtin exception's name) with this message, and may catch it."""

    def __init__(self, raises: str, message: str) -> None:
        super().__init__(message)
        self.raises = raises


# STOP's LanguageModel's own words (language_model.py:100).
CALLS_SPENT = "Error: You have exceeded your call budget."


def oriented(e: Evaluation) -> float:
    """An evaluation's score with higher better (a min problem's negated); -inf if failed."""
    if e.score is None:
        return -math.inf
    return e.score if e.direction == "max" else -e.score


def nothing_score(direction: str) -> float:
    """What STOP's utility returns when it scores nothing (past its budget, no solution, a
    solution that fails): 0, its utilities' worst; -inf on a 'min' problem, where 0 could
    be a good score."""
    return 0.0 if direction == "max" else -math.inf


@dataclass
class Budgeted:
    """One improver run's counters and what it proposed. Lives on the host: the improver
    reaches it only through StopServer's socket. `nothing`: what a utility call that
    scores nothing returns (`nothing_score`)."""

    utility_fn: Callable[[str], float]
    sampler: Sampler
    budgets: StopBudgets
    nothing: float = 0.0
    utility_calls: int = 0
    lm_calls: int = 0
    samples: int = 0
    refused: list[str] = field(default_factory=list)
    best: tuple[float, str] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def utility(self, solution: object) -> float:
        """STOP's utility (tasks/parity_noise/secret_utility.py:13-19): past its budget 0,
        and a call with no solution 0 without counting it."""
        b = self.budgets
        with self.lock:
            if self.utility_calls >= b.utility_calls:
                self.refused.append(
                    f"utility call past its budget of {b.utility_calls}: returned {self.nothing:g}"
                )
                return self.nothing
            if not isinstance(solution, str) or not solution.strip():
                return self.nothing
            self.utility_calls += 1
        score = self.utility_fn(solution)
        if not math.isfinite(score):
            return self.nothing
        with self.lock:
            if self.best is None or score > self.best[0]:
                self.best = (score, solution)
        return score

    def lm(self, system: str, messages: Sequence[str], temperature: float, n: int = 1) -> list[str]:
        """STOP's LanguageModel: `prompt` (one message, n samples of it:
        language_model.py:97-100) or `batch_prompt` (one sample per message, n=1:
        language_model.py:245-250), one language-model call either way. Too many samples
        is an AssertionError, a call past the budget an Exception; neither draws a sample."""
        b = self.budgets
        asked = len(messages) * n
        with self.lock:
            if asked > b.samples_per_call:
                why = f"a language-model call asked {asked} samples, {b.samples_per_call} allowed per call"
                self.refused.append(why)
                raise Refused("AssertionError", why)
            if self.lm_calls >= b.lm_calls:
                self.refused.append(
                    f"language-model call past its budget of {b.lm_calls}: {CALLS_SPENT}"
                )
                raise Refused("Exception", CALLS_SPENT)
            self.lm_calls += 1
            self.samples += asked
        if n > 1:
            return [s for m in messages for s in self.sampler.samples(system, m, temperature, n)]
        return [self.sampler.sample(system, m, temperature) for m in messages]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _UnixServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _send(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        auth = self.headers.get("Authorization", "")
        run = self.server.runs.get(auth.removeprefix("Bearer ").strip())
        try:
            length = int(self.headers.get("Content-Length", "0"))
            if not 0 <= length <= MAX_BODY:
                raise ValueError(f"a body of {length} bytes (at most {MAX_BODY})")
            request = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(request, dict):
                raise ValueError("not a JSON object")
        except ValueError as e:
            self.close_connection = True
            self._send(400, {"error": f"send a JSON object: {e}"})
            return
        if run is None:
            self._send(401, {"error": "unknown run token"})
            return
        try:
            if self.path == "/utility":
                self._send(200, {"score": run.utility(request.get("solution"))})
            elif self.path == "/lm":
                messages, n = request.get("messages"), request.get("n", 1)
                if not isinstance(messages, list):
                    self._send(400, {"error": "messages must be a list of strings"})
                    return
                if not isinstance(n, int) or n < 1:
                    self._send(400, {"error": "n must be a whole number of samples, 1 or more"})
                    return
                samples = run.lm(
                    str(request.get("system", "")),
                    [str(m) for m in messages],
                    float(request.get("temperature", 0.7)),
                    n,
                )
                self._send(200, {"samples": samples})
            else:
                self._send(404, {"error": f"no endpoint {self.path}: use /utility or /lm"})
        except Refused as e:  # the improver raises it, and may catch it
            self._send(429, {"error": str(e), "raises": e.raises})
        except Exception as e:  # noqa: BLE001 - a failed sample is the improver's exception, not ours
            self._send(502, {"error": f"{type(e).__name__}: {e}"})


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    runs: dict[str, Budgeted]


class StopServer(Closing):
    """The host end of improvers' utility and language-model calls: a Unix socket in a
    directory of its own (mounted into improver sandboxes); runs are told apart by token."""

    SOCKET = "stop.sock"

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="dgm-stop-")
        os.chmod(self._dir, 0o755)  # sandboxes run as another user
        self.socket_path = Path(self._dir) / self.SOCKET
        self._server = _UnixServer(str(self.socket_path), _Handler)
        self._server.runs = {}
        os.chmod(self.socket_path, 0o666)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        self._thread.start()

    def register(self, run: Budgeted) -> str:
        token = secrets.token_urlsafe(24)
        self._server.runs[token] = run
        return token

    def unregister(self, token: str) -> None:
        self._server.runs.pop(token, None)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        shutil.rmtree(self._dir, ignore_errors=True)


@dataclass
class ImproverRun:
    """What one improver run left: the solution it returned or why it failed, what it
    spent, and the calls refused past a budget (the first one's reason, and how many)."""

    solution: str | None
    failure: str | None
    over_budget: str | None
    utility_calls: int
    lm_calls: int
    samples: int
    log: str = ""
    refused: int = 0
    raised: bool = False  # the improver's process failed (raised, timed out, ...)


def runner_files() -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(RUNNER_DIR.glob("*.py"))}


def run_improver(
    improver: Mapping[str, bytes],
    solution: str,
    description: str,
    run: Budgeted,
    server: StopServer,
    backend: SandboxBackend,
    seed: int,
    timeout_s: float | None = None,
) -> ImproverRun:
    """Run `improver` on `solution` in a fresh sandbox, its calls counted by `run`, under
    `timeout_s` (default: the budgets' timeout_s)."""
    b = run.budgets
    deadline = timeout_s or b.timeout_s
    token = server.register(run)
    env = {
        "PYTHONPATH": "/task/.stop",
        "DGM_STOP_SOCKET": posixpath.join(GATEWAY_DIR, server.socket_path.name),
        "DGM_STOP_TOKEN": token,
        "DGM_STOP_SEED": str(seed),
        "DGM_STOP_BUDGETS": b.model_dump_json(
            include={"lm_calls", "samples_per_call", "utility_calls"}
        ),
        "DGM_STOP_DESCRIPTION": "/task/description.txt",
    }
    limits = Limits(timeout_s=deadline, memory_mb=b.memory_mb, cpus=1.0)
    cmd = [
        "python3",
        "/task/.stop/run_improver.py",
        f"/agent/{IMPROVER_FILE}",
        "/task/solution.txt",
        "/out/solution.txt",
    ]
    try:
        with backend.open(limits, env=env, gateway_socket=server.socket_path) as sb:
            sb.put_files(dict(improver), "/agent")
            sb.put_files({f".stop/{k}": v for k, v in runner_files().items()}, "/task")
            sb.put_files(
                {"solution.txt": solution.encode(), "description.txt": description.encode()},
                "/task",
            )
            r = sb.run(cmd, timeout_s=deadline, workdir="/tmp")
            out = sb.get_files("/out/solution.txt") if r.ok else {}
    except SandboxError as e:
        return spent(run, None, f"the sandbox failed: {str(e).splitlines()[0][:300]}", raised=True)
    finally:
        server.unregister(token)
    log = clip(r.stderr)
    if r.status is Status.timeout:
        return spent(run, None, f"the improver timed out after {deadline:g}s", log, True)
    if r.status is Status.oom:
        return spent(run, None, f"the improver ran out of memory ({b.memory_mb} MiB)", log, True)
    if not r.ok:
        why = f"the improver failed: {last_line(r.stderr or r.stdout)}"
        return spent(run, None, why, log, True)
    returned = out.get("solution.txt", b"").decode(errors="replace")
    if not returned.strip():
        said = last_line(r.stderr)  # the runner says when improve() returned no string
        why = said if said.startswith("improve() returned a") else "an empty solution"
        return spent(run, None, f"the improver returned no solution: {why}", log)
    return spent(run, returned, None, log)


def spent(
    run: Budgeted, solution: str | None, failure: str | None, log: str = "", raised: bool = False
) -> ImproverRun:
    return ImproverRun(
        solution,
        failure,
        run.refused[0] if run.refused else None,
        run.utility_calls,
        run.lm_calls,
        run.samples,
        log,
        len(run.refused),
        raised,
    )


def last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip()[:300] if lines else "(no output)"


def meta_utility(
    improver: Mapping[str, bytes],
    problem: Problem,
    backend: SandboxBackend,
    open_sampler: OpenSampler,
    budgets: StopBudgets,
    seeds: Sequence[int],
    split: Split = "heldout",
    report: Split | None = None,
    strict: bool = False,
) -> Evaluation:
    """The mean score, on `split` of `problem`, of what `improver` returns from the
    problem's seed program over one downstream run per seed; with `report`, the mean on
    that split too, as metrics only (see the module's doc). `strict`: a run whose
    improver raises (or times out) fails the whole meta-utility, as STOP's does when an
    improver calls it (tasks/meta_optimization/secret_utility.py:46-63, 106-110); else
    such a run counts 0 in the mean, as at STOP's check of an improvement."""
    if "heldout" in (split, report):
        require_heldout(problem)
    train = Evaluator(problem, backend)
    final = Evaluator(problem, backend, split) if split == "heldout" else train
    shown = None if report is None else Evaluator(problem, backend, report)
    reported: list[float] = []
    seed_solution = problem.seed()[problem.main_file]
    description = problem.description or problem.name
    start = time.monotonic()
    scores: list[float] = []
    notes: list[str] = []
    totals = {"utility_calls": 0, "lm_calls": 0, "lm_samples": 0, "over_budget_runs": 0}
    with StopServer() as server:
        for k, seed in enumerate(seeds):
            sampler = open_sampler(f"{problem.name}/run-{k}", budget_samples(budgets), seed)
            run = Budgeted(
                lambda s: oriented(train.evaluate({problem.main_file: s})),
                sampler,
                budgets,
                nothing_score(problem.direction),
            )
            try:
                done = run_improver(
                    improver, seed_solution, description, run, server, backend, seed
                )
            finally:
                sampler.close()
            totals["utility_calls"] += done.utility_calls
            totals["lm_calls"] += done.lm_calls
            totals["lm_samples"] += done.samples
            totals["over_budget_runs"] += done.over_budget is not None
            if strict and done.raised:
                return failed(problem, f"downstream run {k}: {done.failure}", notes, done.log)
            solution = done.solution
            result = None if solution is None else final.evaluate({problem.main_file: solution})
            refused = (
                f"; {done.refused} call(s) refused past a budget, the first: {done.over_budget}"
                if done.over_budget
                else ""
            )
            if solution is None or result is None or result.score is None:
                why = (
                    done.failure
                    if result is None
                    else f"its {split} score failed: {result.failure}"
                )
                if problem.direction == "min":
                    log = done.log if result is None else result.feedback
                    return failed(problem, f"downstream run {k}: {why}", notes, log)
                scores.append(0.0)  # STOP's rule: a failed run counts 0
                reported += [0.0] if shown is not None else []
                notes.append(f"run {k} (seed {seed}): failed, counts 0: {why}{refused}")
                continue
            scores.append(result.score)
            notes.append(f"run {k} (seed {seed}): {split} score {result.score:.6g}{refused}")
            if shown is not None:
                also = shown.evaluate({problem.main_file: solution})
                reported.append(also.score if also.score is not None else 0.0)
                notes[-1] += f", {report} score {reported[-1]:.6g} (reported only)"
    mean = sum(scores) / len(scores)
    metrics = {
        "meta_utility": mean,
        "runs": float(len(scores)),
        **{k: float(v) for k, v in totals.items()},
    }
    metrics |= {f"run_{k}": s for k, s in enumerate(scores)}
    if reported:
        metrics[f"{report}_meta_utility"] = sum(reported) / len(reported)
    return Evaluation(
        ok=True,
        score=mean,
        direction=problem.direction,
        metrics=metrics,
        feedback="\n".join(notes),
        duration_s=time.monotonic() - start,
    )


def require_heldout(problem: Problem) -> None:
    """STOP scores an improver's result on a held-out split: the problem must have one its
    evaluator reads when DGM_SPLIT=heldout (dgm's layout; ReEvo's eval.py takes its split
    on the command line, which a held-out evaluation does not change)."""
    if problem.layout != "dgm":
        raise ProblemError(
            f"STOP needs a problem in dgm's layout (problem.yaml with `heldout:` files its "
            f"evaluator reads when DGM_SPLIT=heldout); {problem.name} is in {problem.layout}'s"
        )
    if not problem.heldout:
        raise ProblemError(
            f"problem {problem.name} has no held-out split: STOP scores an improver's result "
            "on one; list its files under `heldout:` in problem.yaml"
        )


def budget_samples(b: StopBudgets) -> int:
    """The most samples one run can draw: the gateway's own cap on it."""
    return b.lm_calls * b.samples_per_call


def failed(problem: Problem, why: str, notes: list[str], detail: str) -> Evaluation:
    return Evaluation.failed(problem.direction, why, "\n".join([*notes, why, detail]).strip())


def seed_improver() -> dict[str, bytes]:
    """STOP's seed improver: sample N candidates in one call, return the best by utility."""
    return {IMPROVER_FILE: SEED_IMPROVER.read_bytes()}

"""A problem run's held-out score: its best program scored on the problem's held-out split.

A problem declares a held-out split by listing files under `heldout:` in its problem.yaml
(dgm's layout): they never enter the sandbox of a training evaluation, and a held-out
evaluation puts them in and sets DGM_SPLIT=heldout for the evaluator to read them
(benchmarks/problems/evaluate.py; STOP's problems, e.g. the shipped parity_noise, have
one). At the end of a problem run (`dgm run --problem`) the best program is scored on it
once, in the sandbox like every evaluation, and `dgm problem score --heldout` scores any
program on it. A score that is not finite is a failure, as in training.

Where it is kept: an event of the run (kind `heldout_scored`: the agent, its score or why
it failed), not an evaluation row. An evaluation's score becomes the agent's fitness and
feeds selection; a held-out score must never steer the search, and it is taken after the
search ended. The latest event is the run's held-out score. A resumed run is scored again
only when its best program changed (or the sandbox failed last time): a resume of a
finished run does not redo it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from archive.info import AgentInfo, EventInfo, objective

if TYPE_CHECKING:  # the scoring needs the sandbox; reading a run's score (reports) does not
    from benchmarks.problems import Evaluation, Problem
    from dgm.config import RunConfig
    from sandbox import SandboxBackend

KIND = "heldout_scored"
SANDBOX_FAILED = "the sandbox failed: "  # a held-out failure of the machinery, not the program


class RunArchive(Protocol):
    """What scoring a run's best program needs of the archive."""

    def best_agent(self, run_id: str) -> AgentInfo | None: ...

    def agent_files(self, agent_id: str) -> dict[str, bytes]: ...

    def append_event(self, run_id: str, kind: str, payload: dict[str, object]) -> int: ...

    def events(
        self, run_id: str, kinds: Iterable[str] | None = None, after: int = 0
    ) -> list[EventInfo]: ...


@dataclass(frozen=True)
class HeldoutScore:
    """The held-out evaluation of one agent of a run; scores raw (the problem's own)."""

    agent_id: str
    ok: bool
    score: float | None  # None when it failed
    failure: str | None
    run_score: float | None  # the agent's score on the run's own (training) evaluation


def has_heldout(problem: Problem) -> bool:
    return problem.layout == "dgm" and bool(problem.heldout)


def check_heldout(problem: Problem) -> None:
    """A ProblemError naming what to do when the problem has no held-out split."""
    from benchmarks.problems import ProblemError

    if problem.layout != "dgm":
        raise ProblemError(
            f"problem {problem.name} is in {problem.layout}'s layout, which has no held-out split "
            "dgm can select: give a problem.yaml with `heldout:` files its evaluator reads when "
            "DGM_SPLIT=heldout"
        )
    if not problem.heldout:
        raise ProblemError(
            f"problem {problem.name} declares no held-out split: list its files under "
            "`heldout:` in problem.yaml"
        )


def score_program(problem: Problem, backend: SandboxBackend, program: dict[str, str]) -> Evaluation:
    """`program` (sandbox path -> source) scored on the held-out split, in the sandbox."""
    from benchmarks.problems import Evaluator

    check_heldout(problem)
    return Evaluator(problem, backend, "heldout").evaluate(program)


def record(archive: RunArchive, run_id: str, agent: AgentInfo, ev: Evaluation) -> None:
    archive.append_event(
        run_id,
        KIND,
        {
            "agent": agent.id,
            "ok": ev.ok,
            "score": ev.score,
            "failure": ev.failure,
            "run_score": objective(agent.score, ev.direction),
            "metrics": ev.metrics,
            "duration_s": ev.duration_s,
        },
    )


def latest(events: Sequence[EventInfo]) -> HeldoutScore | None:
    """The run's held-out score: its last `heldout_scored` event, or None."""
    found = [e for e in events if e.kind == KIND]
    if not found:
        return None
    p = found[-1].payload
    score = p.get("score")
    run_score = p.get("run_score")
    return HeldoutScore(
        agent_id=str(p.get("agent", "")),
        ok=bool(p.get("ok")),
        score=float(score) if isinstance(score, int | float) else None,
        failure=None if p.get("failure") is None else str(p["failure"]),
        run_score=float(run_score) if isinstance(run_score, int | float) else None,
    )


def score_best(
    archive: RunArchive, run_id: str, problem: Problem, backend: SandboxBackend
) -> HeldoutScore | None:
    """Score the run's best program on the held-out split and record it; None when the run
    has no evaluated program."""
    best = archive.best_agent(run_id)
    if best is None:
        return None
    files = archive.agent_files(best.id)
    program = {path: data.decode(errors="replace") for path, data in files.items()}
    ev = score_program(problem, backend, program)
    record(archive, run_id, best, ev)
    return HeldoutScore(best.id, ev.ok, ev.score, ev.failure, objective(best.score, ev.direction))


def describe(h: HeldoutScore) -> str:
    """One line for people: the held-out score beside the run's own."""
    run = "-" if h.run_score is None else f"{h.run_score:.3f}"
    if not h.ok:
        return f"held-out: {h.agent_id[:8]} failed ({h.failure}); run score {run}"
    return f"held-out score {h.score:.3f} (run score {run}) of {h.agent_id[:8]}"


def already_scored(archive: RunArchive, run_id: str) -> HeldoutScore | None:
    """The run's held-out score when it is of its current best program (a resume that
    changed nothing); None when there is none, the best changed, or the sandbox failed."""
    done = latest(archive.events(run_id, kinds=[KIND]))
    if done is None or (done.failure or "").startswith(SANDBOX_FAILED):
        return None
    best = archive.best_agent(run_id)
    return done if best is not None and best.id == done.agent_id else None


def after_run(archive: RunArchive, run_id: str, config: RunConfig) -> HeldoutScore | None:
    """`dgm run`'s end-of-run step: a problem run's best program on the held-out split.
    None when there is nothing to score: a suite run, a STOP run (its agents are
    improvers, and STOP scores their results on the split itself), a problem without one."""
    from benchmarks.problems import Evaluation, open_problem_backend
    from dgm.problem_run import load_problem
    from sandbox import SandboxError

    if config.problem is None or config.operator == "stop":
        return None
    if (done := already_scored(archive, run_id)) is not None:
        return done
    problem = load_problem(config.problem)
    if not has_heldout(problem):
        return None
    try:
        with open_problem_backend(
            problem, config.sandbox, pool_size=1, run_label=f"{run_id}-heldout"
        ) as backend:
            return score_best(archive, run_id, problem, backend)
    except SandboxError as e:  # the search's results stand; say why there is no score
        best = archive.best_agent(run_id)
        if best is None:
            return None
        why = f"{SANDBOX_FAILED}{str(e).splitlines()[0][:300] if str(e) else repr(e)}"
        record(archive, run_id, best, Evaluation.failed(problem.direction, why))
        return HeldoutScore(best.id, False, None, why, objective(best.score, problem.direction))

"""The evolution loop: asynchronous workers growing one run's archive.

No generation barrier. Each of `workers` workers takes the next job as soon as it is free:
1. evaluate a pending agent on its next task (oldest agent first, so started work ends), or
2. expand: select a parent, mutate it into a child, admit or reject the child.

Staged evaluation: an agent runs the tasks of stage 1; when they are all done its score
(resolved fraction over the tasks of all its stages so far) is stored for the stage, and it
enters the next stage only if that score reaches the next stage's threshold. When it stops
(gated, or every stage done) it is *finalised*: admitted as a parent candidate
(`evaluated`) or, under `keep_better`, rejected if it scores below the seed minus leeway.

The archive is the only state. Every outcome is one archive write that is complete or
absent, so a resume (also after kill -9) rebuilds the exact state from the archive:
- an evaluation counts once recorded (`record_evaluation`); one in flight is redone;
- an iteration counts once its child is recorded (`add_agent`) or its failure is
  (`expansion_failed` event); one in flight is redone;
- stage scores and finalisation are recomputed from the recorded evaluations.

Budgets (iterations, evaluations, USD, wall clock) stop the *start* of new jobs; jobs in
flight finish and are recorded. A seed fixes every random choice: the selector's and the
mutator's draws for iteration i come from generators seeded with (seed, i).
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from dgm.config import RunConfig
from dgm.mutators import Chat, EvalView, Mutation, MutationContext, Mutator, Parent
from dgm.mutators.admission import rejection
from dgm.mutators.operators import OPERATORS
from dgm.selectors import SELECTORS

if TYPE_CHECKING:  # the archive package loads SQLAlchemy: only the engine's user needs it
    from archive import Archive
    from archive.info import AgentStatus, EvaluationInfo, RunStatus

log = logging.getLogger(__name__)

LEASE_LOST = "lost the run's lease"  # another session took the run over
FILES_CACHE = 256  # agents whose code stays in memory for reuse as parents


class EventLog:
    """The run's event log, written in order by one background thread.

    Events explain a run; they are not what a resume needs (an `expansion_failed` lost to a
    kill -9 only means that iteration is redone), so their writes stay off the loop's path.
    """

    def __init__(self, archive: Archive, run_id: str) -> None:
        self.archive, self.run_id = archive, run_id
        self._queue: queue.SimpleQueue[tuple[str, dict[str, Any]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._drain, name="dgm-events", daemon=True)
        self._thread.start()

    def emit(self, kind: str, payload: dict[str, Any]) -> None:
        self._queue.put((kind, payload))

    def _drain(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self.archive.append_event(self.run_id, item[0], item[1])
            except Exception:  # a lost log line must not stop the run
                log.exception("could not record event %s", item[0])

    def close(self) -> None:
        """Write everything emitted so far, then stop."""
        self._queue.put(None)
        self._thread.join()


class Evaluator(Protocol):
    """Scores one agent on one task. Runs in a worker thread; may block."""

    def evaluate(self, agent_id: str, files: Mapping[str, bytes], task_id: str, stage: str) -> bool:
        """Run the agent on the task, grade it, record the evaluation in the archive
        (attempt 1, this stage) before returning, and return whether it was resolved."""
        ...


@dataclass(frozen=True)
class StagePlan:
    name: str
    task_ids: tuple[str, ...]
    threshold: float


@dataclass
class AgentState:
    agent_id: str
    parent_id: str | None
    files: Mapping[str, bytes]
    done: dict[str, bool] = field(default_factory=dict)
    in_flight: set[str] = field(default_factory=set)
    stage: int = 0
    score: float | None = None
    started: bool = False
    announced: set[str] = field(default_factory=set)  # stages whose start is logged


@dataclass(frozen=True)
class EvalJob:
    agent_id: str
    task_id: str
    stage: str


@dataclass(frozen=True)
class ExpandJob:
    iteration: int


@dataclass
class Progress:
    """What the live display shows."""

    iteration: int
    max_iterations: int
    archive_size: int
    candidates: int
    pending: int
    best: float | None
    mean: float | None
    evaluations: int
    evals_per_min: float
    usd_spent: float
    usd_left: float | None
    workers: list[str]
    stop_reason: str | None


class Engine:
    """One session of one run. Build it, then `await engine.run()`."""

    def __init__(
        self,
        *,
        archive: Archive,
        run_id: str,
        config: RunConfig,
        stages: Sequence[StagePlan],
        evaluator: Evaluator,
        mutator: Mutator,
        chat: Chat,
        problem_statements: Mapping[str, str],
        seed_files: Mapping[str, bytes] | None = None,
        spent_usd: Callable[[], float] = lambda: 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.archive = archive
        self.run_id = run_id
        self.config = config
        self.stages = [s for s in stages if s.task_ids]
        self.evaluator = evaluator
        self.mutator = mutator
        self.chat = chat
        self.problem_statements = problem_statements
        self.seed_files = seed_files
        self.spent_usd = spent_usd
        self.clock = clock
        self.select = SELECTORS[config.selector]
        self.n_parents = OPERATORS[config.operator].parents

        self.pending: dict[str, AgentState] = {}  # insertion order = creation order
        self.scores: dict[str, float] = {}  # admitted candidates' final scores
        self.archive_size = 0
        self.seed_id: str | None = None
        self.iterations_started = 0
        self.evaluations_started = 0
        self.evaluations_done = 0
        self.session_evaluations = 0
        self.in_flight = 0
        self.workers: list[str] = ["idle"] * config.workers
        self.stop_reason: str | None = None
        self.started_at = clock()
        self._cond: asyncio.Condition | None = None
        self._files: dict[str, Mapping[str, bytes]] = {}
        self._events: EventLog | None = None

    # ---- state from the archive -------------------------------------------------------
    def load(self) -> bool:
        """Rebuild the state from the archive; add the seed on a fresh run. True if resumed."""
        rows = list(self.archive.agents(self.run_id))
        if not rows:
            if self.seed_files is None:
                raise ValueError("a fresh run needs seed_files")
            self.seed_id = self.archive.add_agent(
                self.run_id,
                dict(self.seed_files),
                parent_id=None,
                second_parent_id=None,
                operator="seed",
                origin={"iteration": 0},
                status="pending",
            )
            self.pending[self.seed_id] = AgentState(self.seed_id, None, dict(self.seed_files))
            self.archive_size = 1
            return False
        failed = len(self.archive.events(self.run_id, kinds=["expansion_failed"]))
        self.iterations_started = failed + sum(1 for r in rows if r.parent_id is not None)
        self.archive_size = len(rows)
        for r in rows:
            if r.parent_id is None and self.seed_id is None:
                self.seed_id = r.id
            self.evaluations_done += r.n_evaluated
            if r.status in ("pending", "evaluating"):  # only unfinished agents need details
                evals = self.archive.evaluations(r.id)
                state = AgentState(r.id, r.parent_id, self.archive.agent_files(r.id))
                state.done = {e.task_id: bool(e.resolved) for e in evals}
                state.started = bool(evals)
                self.pending[r.id] = state
            elif r.status == "evaluated" and r.score is not None:
                self.scores[r.id] = r.score
        self.evaluations_started = self.evaluations_done
        for state in list(self.pending.values()):
            self.advance(state)
        return True

    # ---- staged evaluation ------------------------------------------------------------
    def stage_score(self, state: AgentState, upto: int) -> float:
        tasks = {t for s in self.stages[: upto + 1] for t in s.task_ids}
        return sum(state.done.get(t, False) for t in tasks) / len(tasks)

    def advance(self, state: AgentState) -> None:
        """Close every stage whose tasks are all done; gate or finalise the agent."""
        while state.stage < len(self.stages):
            stage = self.stages[state.stage]
            if any(t not in state.done for t in stage.task_ids):
                return
            state.score = self.stage_score(state, state.stage)
            self.archive.set_agent_score(state.agent_id, stage.name, state.score)
            state.stage += 1
            if state.stage < len(self.stages) and state.score < self.stages[state.stage].threshold:
                break
            if state.stage < len(self.stages):
                self.event(
                    "stage_finished", agent=state.agent_id, stage=stage.name, score=state.score
                )
        self.finalise(state)

    def finalise(self, state: AgentState) -> None:
        self.pending.pop(state.agent_id, None)
        score = state.score if state.score is not None else 0.0
        floor = self.scores.get(self.seed_id or "", 0.0) - self.config.keep_better_leeway
        status: AgentStatus = "evaluated"
        reason = None
        if self.config.admission == "keep_better" and state.parent_id is not None and score < floor:
            status = "rejected"
            reason = (
                f"keep_better: score {score:.3f} is below the seed's minus leeway ({floor:.3f})"
            )
        else:
            self.scores[state.agent_id] = score
        self.archive.set_agent_status(state.agent_id, status, reason)
        last = self.stages[state.stage - 1].name if state.stage else None
        self.event("agent_finalised", agent=state.agent_id, stage=last, score=score, status=status)

    def next_task(self, state: AgentState) -> EvalJob | None:
        if state.stage >= len(self.stages):
            return None
        stage = self.stages[state.stage]
        for t in stage.task_ids:
            if t not in state.done and t not in state.in_flight:
                return EvalJob(state.agent_id, t, stage.name)
        return None

    # ---- scheduling -------------------------------------------------------------------
    def budget_reason(self) -> str | None:
        c = self.config
        if c.wall_clock_s is not None and self.clock() - self.started_at >= c.wall_clock_s:
            return f"wall clock budget of {c.wall_clock_s:g} s reached"
        if c.budget_usd is not None and self.spent_usd() >= c.budget_usd:
            return f"USD budget of {c.budget_usd:g} reached"
        if c.max_evaluations is not None and self.evaluations_started >= c.max_evaluations:
            return f"evaluation budget of {c.max_evaluations} reached"
        return None

    def pick(self) -> EvalJob | ExpandJob | None:
        if self.stop_reason is None:
            self.stop_reason = self.budget_reason()
        if self.stop_reason is not None:
            return None
        for state in self.pending.values():
            job = self.next_task(state)
            if job is not None:
                state.in_flight.add(job.task_id)
                self.evaluations_started += 1
                return job
        if self.iterations_started < self.config.max_iterations and self.scores:
            self.iterations_started += 1
            return ExpandJob(self.iterations_started)
        return None

    async def next_job(self) -> EvalJob | ExpandJob | None:
        assert self._cond is not None
        async with self._cond:
            while True:
                job = self.pick()
                if job is not None:
                    self.in_flight += 1
                    return job
                if self.stop_reason is not None or self.in_flight == 0:
                    self._cond.notify_all()
                    return None
                await self._cond.wait()

    async def job_done(self) -> None:
        assert self._cond is not None
        async with self._cond:
            self.in_flight -= 1
            self._cond.notify_all()

    def request_stop(self, reason: str) -> None:
        """Start no new job; the jobs in flight finish and are recorded."""
        if self.stop_reason is None or reason == LEASE_LOST:  # a lost lease outranks the rest
            self.stop_reason = reason
        if self._cond is not None:
            asyncio.get_running_loop().create_task(self._wake())

    async def _wake(self) -> None:
        assert self._cond is not None
        async with self._cond:
            self._cond.notify_all()

    # ---- jobs -------------------------------------------------------------------------
    def event(self, kind: str, **payload: Any) -> None:
        if self._events is None:
            self.archive.append_event(self.run_id, kind, payload)
        else:
            self._events.emit(kind, payload)

    async def run_eval(self, worker: int, job: EvalJob, pool: ThreadPoolExecutor) -> None:
        state = self.pending[job.agent_id]
        if not state.started:
            state.started = True
            self.archive.set_agent_status(job.agent_id, "evaluating", None)
        self.workers[worker] = f"evaluating {job.agent_id[:8]} on {job.task_id} ({job.stage})"
        if job.stage not in state.announced:
            # One event per agent and stage: the evaluation records themselves say which
            # task finished when, so per-task events would only double the writes.
            state.announced.add(job.stage)
            remaining = [t for t in self.stages[state.stage].task_ids if t not in state.done]
            self.event("stage_started", agent=job.agent_id, stage=job.stage, tasks=remaining)
        loop = asyncio.get_running_loop()
        try:
            resolved = await loop.run_in_executor(
                pool, self.evaluator.evaluate, job.agent_id, state.files, job.task_id, job.stage
            )
        except Exception as e:  # a run never dies of one bad evaluation: record it as failed
            resolved = False
            self.record_engine_error(job, e)
        state.in_flight.discard(job.task_id)
        state.done[job.task_id] = bool(resolved)
        self.evaluations_done += 1
        self.session_evaluations += 1
        self.advance(state)

    def record_engine_error(self, job: EvalJob, error: Exception) -> None:
        """Record an evaluation that raised as failed (`engine_error`), the way every
        evaluation is recorded."""
        from dgm.evaluator import EvalResult, record  # the evaluator's imports are heavy

        result = EvalResult(
            task_id=job.task_id,
            attempt=1,
            resolved=False,
            error_kind="engine_error",
            agent_log=f"{type(error).__name__}: {error}",
        )
        record(self.archive, job.agent_id, job.stage, result)

    def files_of(self, agent_id: str) -> Mapping[str, bytes]:
        """An agent's code; parents are picked again and again, so keep recent ones."""
        files = self._files.pop(agent_id, None)
        if files is None:
            files = self.archive.agent_files(agent_id)
        self._files[agent_id] = files  # most recently used last
        if len(self._files) > FILES_CACHE:
            self._files.pop(next(iter(self._files)))
        return files

    def parent_context(self, parent_ids: Sequence[str], iteration: int) -> MutationContext:
        parents = [
            Parent(p, self.files_of(p), [eval_view(e) for e in self.archive.evaluations(p)])
            for p in parent_ids
        ]
        return MutationContext(
            parents=parents,
            problem_statements=self.problem_statements,
            chat=self.chat,
            rng=random.Random(f"{self.config.seed}:mutate:{iteration}"),
            iteration=iteration,
        )

    async def run_expand(self, worker: int, job: ExpandJob, pool: ThreadPoolExecutor) -> None:
        rng = random.Random(f"{self.config.seed}:select:{job.iteration}")
        stats = self.archive.candidate_stats(self.run_id)
        picked = self.select(stats, rng, self.n_parents)
        if not picked:  # cannot happen while self.scores is non-empty, but never crash on it
            self.event(
                "expansion_failed",
                iteration=job.iteration,
                parent=None,
                reason="no candidate parent",
            )
            return
        parent_id = picked[0]
        second_id = picked[1] if len(picked) > 1 else None
        self.workers[worker] = f"expanding {parent_id[:8]} (iteration {job.iteration})"
        self.event("job_started", job="expand", iteration=job.iteration, parent=parent_id)
        loop = asyncio.get_running_loop()
        ctx = self.parent_context(picked, job.iteration)
        try:
            mutation: Mutation = await loop.run_in_executor(pool, self.mutator.mutate, ctx)
        except Exception as e:
            mutation = Mutation(None, {}, f"{type(e).__name__}: {e}")
        if mutation.files is None:
            self.event(
                "expansion_failed",
                iteration=job.iteration,
                parent=parent_id,
                reason=mutation.reason,
                origin=mutation.origin,
            )
            return
        reason = rejection(ctx.files, mutation.files)
        origin = {**mutation.origin, "iteration": job.iteration}
        if reason:
            origin["rejected"] = reason
        child = self.archive.add_agent(
            self.run_id,
            mutation.files,
            parent_id=parent_id,
            second_parent_id=second_id,
            operator=self.mutator.name,
            origin=origin,
            status="rejected" if reason else "pending",
            reason=reason,
        )
        self.archive_size += 1
        if not reason:
            self.pending[child] = AgentState(child, parent_id, mutation.files)
            self._files[child] = mutation.files
        self.event(
            "job_finished",
            job="expand",
            iteration=job.iteration,
            parent=parent_id,
            child=child,
            rejected=reason,
        )

    async def worker(self, index: int, pool: ThreadPoolExecutor) -> None:
        while True:
            job = await self.next_job()
            if job is None:
                self.workers[index] = "done"
                return
            try:
                if isinstance(job, EvalJob):
                    await self.run_eval(index, job, pool)
                else:
                    await self.run_expand(index, job, pool)
            finally:
                self.workers[index] = "idle"
                await self.job_done()

    async def run(self) -> str:
        """Run until the work or a budget runs out; the reason the session ended."""
        self._cond = asyncio.Condition()
        self.started_at = self.clock()
        resumed = self.load()
        self.archive.set_run_status(self.run_id, "running")
        self._events = EventLog(self.archive, self.run_id)
        try:
            self.event(
                "session_started",
                resumed=resumed,
                pending=list(self.pending),
                iterations=self.iterations_started,
                evaluations=self.evaluations_done,
                pid=os.getpid(),
                host=socket.gethostname(),
            )
            with ThreadPoolExecutor(
                max_workers=self.config.workers, thread_name_prefix="dgm-worker"
            ) as pool:
                await asyncio.gather(*(self.worker(i, pool) for i in range(self.config.workers)))
            reason, status = self.end_reason()
            self.event("session_stopped", reason=reason, status=status)
        finally:
            self._events.close()
            self._events = None
        if self.stop_reason != LEASE_LOST:  # else the run's new owner says what it is
            self.archive.set_run_status(self.run_id, status)
        return reason

    def end_reason(self) -> tuple[str, RunStatus]:
        if self.stop_reason is not None:
            return self.stop_reason, "stopped"
        if not self.scores:
            return "no parent candidate: every agent was rejected", "finished"
        return f"done: {self.iterations_started} iterations", "finished"

    def progress(self) -> Progress:
        scores = list(self.scores.values())
        minutes = max(self.clock() - self.started_at, 1e-9) / 60
        spent = self.spent_usd()
        return Progress(
            iteration=self.iterations_started,
            max_iterations=self.config.max_iterations,
            archive_size=self.archive_size,
            candidates=len(scores),
            pending=len(self.pending),
            best=max(scores) if scores else None,
            mean=sum(scores) / len(scores) if scores else None,
            evaluations=self.evaluations_done,
            evals_per_min=self.session_evaluations / minutes,
            usd_spent=spent,
            usd_left=None
            if self.config.budget_usd is None
            else max(self.config.budget_usd - spent, 0.0),
            workers=list(self.workers),
            stop_reason=self.stop_reason,
        )


def eval_view(e: EvaluationInfo) -> EvalView:
    """An archive evaluation record as what a mutator may see."""
    return EvalView(
        task_id=e.task_id,
        resolved=bool(e.resolved),
        error_kind=e.error_kind,
        patch=_text(e.patch),
        trajectory=_text(e.trajectory),
        test_report=_text(e.tests),
        score=e.score,
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value, indent=1, default=str)

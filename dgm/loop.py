"""The evolution loop: asynchronous workers growing one run's archive.

No generation barrier. Each of `workers` workers takes the next job as soon as it is free:
1. evaluate a pending agent on its next task (oldest agent first, so started work ends), or
2. expand: select a parent, mutate it into a child, admit or reject the child (broken code:
   dgm/mutators/admission.py; a duplicate of an agent of the run: dgm/novelty.py).

Staged evaluation: an agent runs the tasks of stage 1; when they are all done its score
(resolved fraction over the tasks of all its stages so far) is stored for the stage, and it
enters the next stage only if that score reaches the next stage's threshold. When it stops
(gated, or every stage done) it is *finalised*: admitted as a parent candidate
(`evaluated`) or rejected: under `keep_better` if it scores below the seed minus leeway,
and, whatever the rule, a suite's child whose every patch was empty (DGM's filter).
Selectors count a parent's children as DGM does: archive members only.

Problem runs (`direction` set: an initial program and an evaluator, see dgm/problem_run.py)
use the same loop. Each program is one evaluation (one stage of one task, the problem); the
evaluator's `Outcome` carries the problem's raw float score. The archive stores the agent's
score as *fitness*, higher is better (the raw score, negated for a 'min' problem; see
`archive.info.objective`), so every "best" ordering stays one. A program whose evaluation
failed (crash, deadline, non-finite score) is finalised `failed`, never a parent. Selectors
see a normalised fitness in [0, 1] (`dgm.selectors.rank_fitness`), so they work unchanged.

Generational operators (ReEvo) plug in through `Schedule`: the operator picks the parents
of each iteration itself and may ask for a barrier (every earlier child evaluated) before an
iteration, as ReEvo waits for a generation before reflecting on it.

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from archive import ArchiveError
from dgm.config import RunConfig
from dgm.hgm import Evaluate, Expand, Scheduler, Situation
from dgm.mutators import Chat, EvalView, Mutation, MutationContext, Mutator, Parent
from dgm.mutators.admission import no_patch, rejection
from dgm.mutators.operators import OPERATORS
from dgm.novelty import Nearest, Novelty, Verdict
from dgm.polyglot_run import polyglot_suite
from dgm.race import Race
from dgm.selectors import SELECTORS, Candidate, member_children, rank_fitness, with_scores
from sandbox import EngineUnavailable

if TYPE_CHECKING:  # the archive package loads SQLAlchemy: only the engine's user needs it
    from archive import Archive
    from archive.info import AgentStatus, Direction, EvaluationInfo, RunStatus

log = logging.getLogger(__name__)

LEASE_LOST = "lost the run's lease"  # another session took the run over
SEED_SUITE_STAGE = "suite"  # the seed's stage of the suite's other tasks (`seed_tasks`)
FILES_CACHE = 256  # agents whose code stays in memory for reuse as parents


class EventLog:
    """The run's event log, written in order by one background thread (what was emitted
    while it wrote goes in its next transaction, together).

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
        while True:
            batch = [self._queue.get()]  # then what else is queued: one commit for them all
            while not self._queue.empty():
                batch.append(self._queue.get())
            events = [item for item in batch if item is not None]
            self._write(events)
            if len(events) < len(batch):  # closed
                return

    def _write(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        if not events:
            return
        try:
            self.archive.append_events(self.run_id, events)
        except Exception:  # one at a time, so that one bad line loses only itself
            for kind, payload in events:
                try:
                    self.archive.append_event(self.run_id, kind, payload)
                except Exception:  # a lost log line must not stop the run
                    log.exception("could not record event %s", kind)

    def close(self) -> None:
        """Write everything emitted so far, then stop."""
        self._queue.put(None)
        self._thread.join()


@dataclass(frozen=True)
class Outcome:
    """What one evaluation gives the loop. A suite's task: resolved or not (score 1 or 0).
    A problem's program: valid or not, its raw primary score (None when it failed) and why
    it failed."""

    resolved: bool
    score: float | None = None
    failure: str | None = None


class Evaluator(Protocol):
    """Scores one agent on one task. Runs in a worker thread; may block."""

    def evaluate(
        self, agent_id: str, files: Mapping[str, bytes], task_id: str, stage: str
    ) -> Outcome | bool:
        """Run the agent on the task, grade it, record the evaluation in the archive
        (attempt 1, this stage) before returning, and return the outcome (a bool: whether a
        suite's task was resolved)."""
        ...


def as_outcome(result: Outcome | bool) -> Outcome:
    if isinstance(result, Outcome):
        return result
    return Outcome(bool(result), 1.0 if result else 0.0)


@runtime_checkable
class Schedule(Protocol):
    """A generational operator's own plan (ReEvo): when a mutator implements it, the loop
    asks it for each iteration's parents instead of the run's selector, and holds an
    iteration back while `barrier` says it needs every earlier child evaluated first."""

    def barrier(self, iteration: int) -> bool: ...

    def parents(
        self, iteration: int, candidates: Sequence[Candidate], rng: random.Random
    ) -> list[str] | str:
        """The iteration's parents (the first one leads the lineage), or why there are none."""
        ...


class Policy(Protocol):
    """A search that decides every job itself, one task evaluation at a time (HGM's
    scheduler, dgm/hgm.py): the loop asks it what each free worker does next, over one
    stage holding every stage's tasks (no gates). Selector, stages' thresholds and the
    evaluation order of the staged loop do not apply."""

    name: str

    def decide(self, now: Situation) -> Expand | Evaluate | None:
        """The next job, or None to wait (`Situation`: what the policy sees)."""
        ...

    def final(
        self, candidates: Sequence[Candidate], results: Mapping[str, Mapping[str, bool]]
    ) -> dict[str, object]:
        """The agent the run returns and why (recorded as an event at the end)."""
        ...


@runtime_checkable
class ParentChoice(Protocol):
    """An operator that picks each child's parents by running code in a sandbox (DGM-H:
    the newest agent's own selector, dgm/dgmh.py). The loop calls it in a worker thread,
    off the event loop, with what a selector gets; it records its choice itself."""

    def choose_parents(
        self, iteration: int, candidates: Sequence[Candidate], rng: random.Random
    ) -> list[str]: ...


@runtime_checkable
class Generations(Protocol):
    """A Schedule whose `max_fe` is checked at the top of a generation (ReEvo's), so its
    generations complete: the children it makes under a budget of max_fe evaluations."""

    def iterations_for(self, max_fe: int) -> int: ...


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
    done: dict[str, Outcome] = field(default_factory=dict)
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
    parent: str | None = None  # chosen by a Policy when it decided to expand


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
        direction: Direction | None = None,
        admit: Callable[[Mapping[str, bytes], Mapping[str, bytes]], str | None] = rejection,
        judge: Chat | None = None,
    ) -> None:
        """`direction`: a problem run's ('min' or 'max'); None for a suite. `admit`: why a
        new child must not be evaluated, or None (dgm.mutators.admission). `judge`: the
        chat of `config.novelty.judge_model` (dgm.novelty)."""
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
        self.direction = direction
        self.admit = admit
        self.novelty = Novelty(config.novelty, judge)
        self._admitting = asyncio.Lock()  # a child is checked for novelty and recorded at once
        self.schedule = mutator if isinstance(mutator, Schedule) else None
        self.chooser = mutator if isinstance(mutator, ParentChoice) else None
        self.expanding = 0  # expansions in flight (a Schedule's barrier waits for them)
        self.policy: Policy | None = None
        if config.hgm is not None:  # every stage's tasks in one ungated stage, task by task
            tasks = tuple(dict.fromkeys(t for s in self.stages for t in s.task_ids))
            self.stages = [StagePlan("hgm", tasks, 0.0)]
            self.policy = Scheduler(config.hgm, config.seed, len(tasks))
        elif config.race is not None:  # the same, decided by racing (dgm/race.py)
            tasks = tuple(dict.fromkeys(t for s in self.stages for t in s.task_ids))
            self.stages = [StagePlan("race", tasks, 0.0)]
            self.policy = Race(config.race, config.seed, tasks)
        self.results: dict[str, dict[str, bool]] = {}  # a Policy's view: agent -> task -> resolved
        # The seed's stages: the run's, plus the suite's other tasks under `seed_tasks`.
        self.seed_on_suite = seed_on_suite(config) and direction is None and self.policy is None
        self.seed_stages = seed_stages(self.stages, problem_statements, self.seed_on_suite)

        self.pending: dict[str, AgentState] = {}  # insertion order = creation order
        self.scores: dict[str, float] = {}  # admitted candidates' final scores
        # The first stage's scores, when parents are selected on them (`select_on`).
        self.first_scores: dict[str, float] | None = {} if first_stage_selection(config) else None
        self.archive_size = 0
        self.seed_id: str | None = None
        self.iterations_started = 0
        self.evaluations_started = 0
        self.evaluations_done = 0
        self.session_evaluations = 0
        self.session_jobs = 0  # none: a resume that found nothing to do
        self.in_flight = 0
        self.workers: list[str] = ["idle"] * config.workers
        self.evaluating: dict[int, EvalJob] = {}  # worker -> its evaluation, for `where`
        self.stop_reason: str | None = None
        self.outside_failure: str | None = None  # why the machinery stopped the run, if it did
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
                content_key=self.novelty.key(self.seed_files),
            )
            self.pending[self.seed_id] = AgentState(self.seed_id, None, dict(self.seed_files))
            self.novelty.add(self.seed_id, self.seed_files)
            self.archive_size = 1
            return False
        failed = len(self.archive.events(self.run_id, kinds=["expansion_failed"]))
        self.iterations_started = failed + sum(1 for r in rows if r.parent_id is not None)
        self.archive_size = len(rows)
        if self.novelty.enabled:  # every agent of the run, whatever its status
            keys = self.archive.content_keys(self.run_id)
            self.novelty.rebuild([r.id for r in rows], keys, self.archive.agent_files)
        for r in rows:
            if r.parent_id is None and self.seed_id is None:
                self.seed_id = r.id
            if self.first_scores is not None and self.stages[0].name in r.scores:
                self.first_scores[r.id] = r.scores[self.stages[0].name]
                if r.parent_id is None and self.seed_on_suite and r.score is not None:
                    self.first_scores[r.id] = r.score  # the seed's over the whole suite
            self.evaluations_done += r.n_evaluated
            if self.policy is not None and r.n_evaluated:  # a Policy weighs every result
                self.results[r.id] = {
                    e.task_id: bool(e.resolved) for e in self.archive.evaluations(r.id)
                }
            if r.status in ("pending", "evaluating"):  # only unfinished agents need details
                evals = self.archive.evaluations(r.id)
                state = AgentState(r.id, r.parent_id, self.archive.agent_files(r.id))
                state.done = {e.task_id: recorded_outcome(e) for e in evals}
                state.started = bool(evals)
                self.pending[r.id] = state
            elif r.status == "evaluated" and r.score is not None:
                self.scores[r.id] = r.score
        self.evaluations_started = self.evaluations_done
        for state in list(self.pending.values()):
            self.advance(state)
        return True

    # ---- staged evaluation ------------------------------------------------------------
    def stages_of(self, state: AgentState) -> list[StagePlan]:
        return self.seed_stages if state.parent_id is None else self.stages

    def stage_score(self, state: AgentState, upto: int) -> float | None:
        """A suite's resolved fraction over the stages so far; a problem's mean fitness
        (None when an evaluation failed: the program is invalid)."""
        tasks = {t for s in self.stages_of(state)[: upto + 1] for t in s.task_ids}
        outcomes = [state.done.get(t) for t in tasks]
        if self.direction is None:
            return sum(bool(o and o.resolved) for o in outcomes) / len(tasks)
        fitness = [self.fitness(o) for o in outcomes]
        if any(f is None for f in fitness):
            return None
        return sum(f for f in fitness if f is not None) / len(fitness)

    def fitness(self, outcome: Outcome | None) -> float | None:
        """A problem's raw score as fitness, higher is better (see archive.info.objective)."""
        if outcome is None or not outcome.resolved or outcome.score is None:
            return None
        return -outcome.score if self.direction == "min" else outcome.score

    def failure(self, state: AgentState) -> str:
        why = [o.failure for o in state.done.values() if o.failure]
        return f"the evaluation failed: {why[0]}" if why else "the evaluation failed"

    def advance(self, state: AgentState) -> None:
        """Close every stage whose tasks are all done; gate or finalise the agent."""
        stages = self.stages_of(state)
        seed = state.parent_id is None
        while state.stage < len(stages):
            stage = stages[state.stage]
            if any(t not in state.done for t in stage.task_ids):
                return
            state.score = self.stage_score(state, state.stage)
            if state.score is None:  # a problem's program that could not be scored
                break
            self.archive.set_agent_score(state.agent_id, stage.name, state.score)
            if self.first_scores is not None and (state.stage == 0 or seed and self.seed_on_suite):
                self.first_scores[state.agent_id] = state.score  # the seed's: its last stage's
            state.stage += 1
            gated = not seed or not (self.config.seed_every_stage or self.seed_on_suite)
            if gated and state.stage < len(stages) and state.score < stages[state.stage].threshold:
                break
            if state.stage < len(stages):
                self.event(
                    "stage_finished", agent=state.agent_id, stage=stage.name, score=state.score
                )
        self.finalise(state)

    def finalise(self, state: AgentState) -> None:
        self.pending.pop(state.agent_id, None)
        if self.direction is not None and state.score is None:
            why = self.failure(state)
            self.archive.set_agent_status(state.agent_id, "failed", why)
            self.event("agent_finalised", agent=state.agent_id, status="failed", reason=why)
            return
        score = state.score if state.score is not None else 0.0
        # keep_better compares the scores parents are selected on (DGM reads
        # `overall_performance`, DGM_outer.py:167-185: on polyglot the 10-task score).
        selected = self.first_scores if self.first_scores is not None else self.scores
        floor = selected.get(self.seed_id or "", 0.0) - self.config.keep_better_leeway
        kept = selected.get(state.agent_id, score) if self.first_scores is not None else score
        status: AgentStatus = "evaluated"
        reason = None
        if self.config.admission == "keep_better" and state.parent_id is not None and kept < floor:
            status = "rejected"
            reason = f"keep_better: score {kept:.3f} is below the seed's minus leeway ({floor:.3f})"
        elif (
            state.parent_id is not None
            and self.direction is None
            and (reason := self.no_patch(state))
        ):
            status = "rejected"
        else:
            self.scores[state.agent_id] = score
        self.archive.set_agent_status(state.agent_id, status, reason)
        last = self.stages_of(state)[state.stage - 1].name if state.stage else None
        self.event("agent_finalised", agent=state.agent_id, stage=last, score=score, status=status)

    def no_patch(self, state: AgentState) -> str | None:
        return no_patch([eval_view(e) for e in self.archive.evaluations(state.agent_id)])

    def next_task(self, state: AgentState) -> EvalJob | None:
        stages = self.stages_of(state)
        if state.stage >= len(stages):
            return None
        stage = stages[state.stage]
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
        if self.policy is not None:
            return self.policy_job(self.policy)
        for state in self.pending.values():
            job = self.next_task(state)
            if job is not None:
                state.in_flight.add(job.task_id)
                self.evaluations_started += 1
                return job
        if self.iterations_started < self.max_iterations() and self.scores:
            if self.schedule is not None and self.schedule.barrier(self.iterations_started + 1):
                if self.pending or self.expanding:
                    return None  # the generation before it is still being made or scored
            self.iterations_started += 1
            self.expanding += 1
            return ExpandJob(self.iterations_started)
        return None

    def policy_job(self, policy: Policy) -> EvalJob | ExpandJob | None:
        stage = self.stages[0]
        open_tasks = {
            a: tuple(t for t in stage.task_ids if t not in s.done and t not in s.in_flight)
            for a, s in self.pending.items()
        }
        now = Situation(
            self.archive.candidate_stats(self.run_id),
            open_tasks,
            self.results,
            dispatched=self.evaluations_started,
            pending_expansions=self.expanding,
            may_expand=self.iterations_started < self.max_iterations(),
            step=self.evaluations_started + self.iterations_started,  # replayed on resume
        )
        decision = policy.decide(now)
        if isinstance(decision, Expand):
            self.iterations_started += 1
            self.expanding += 1
            return ExpandJob(self.iterations_started, decision.parent_id)
        if decision is None:
            return None
        self.pending[decision.agent_id].in_flight.add(decision.task_id)
        self.evaluations_started += 1
        return EvalJob(decision.agent_id, decision.task_id, stage.name)

    def max_iterations(self) -> int:
        """`max_iterations`, and ReEvo's `max_fe`: every child (or failed expansion) costs
        one function evaluation, and so did the seed. A schedule that counts generations
        (ReEvo) says how many children its whole generations take."""
        limit = self.config.max_iterations
        if self.config.max_fe is not None:
            fe, plan = self.config.max_fe, self.schedule
            children = plan.iterations_for(fe) if isinstance(plan, Generations) else fe - 1
            limit = min(limit, children)
        return limit

    async def next_job(self) -> EvalJob | ExpandJob | None:
        assert self._cond is not None
        async with self._cond:
            while True:
                job = self.pick()
                if job is not None:
                    self.in_flight += 1
                    self.session_jobs += 1
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

    def stop_from_outside(self, error: EngineUnavailable) -> None:
        """Stop: a job failed from outside its sandbox past its retries (dgm/executors/
        retry.py). It is not recorded, so a resume runs it."""
        self.outside_failure = str(error).splitlines()[0] if str(error) else "the sandbox failed"
        self.request_stop(self.outside_failure)

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
        self.evaluating[worker] = job
        if job.stage not in state.announced:
            # One event per agent and stage: the evaluation records themselves say which
            # task finished when, so per-task events would only double the writes.
            state.announced.add(job.stage)
            remaining = [
                t for t in self.stages_of(state)[state.stage].task_ids if t not in state.done
            ]
            self.event("stage_started", agent=job.agent_id, stage=job.stage, tasks=remaining)
        loop = asyncio.get_running_loop()
        try:
            outcome = as_outcome(
                await loop.run_in_executor(
                    pool, self.evaluator.evaluate, job.agent_id, state.files, job.task_id, job.stage
                )
            )
        except ArchiveError:  # nothing can be recorded (a full disk): not the agent's failure,
            raise  # the session ends and a resume redoes the job
        except EngineUnavailable as e:  # the sandbox's engine failed past its retries
            state.in_flight.discard(job.task_id)
            self.stop_from_outside(e)
            return
        except Exception as e:  # a run never dies of one bad evaluation: record it as failed
            outcome = Outcome(False, None, f"{type(e).__name__}: {e}")
            self.record_engine_error(job, e)
        state.in_flight.discard(job.task_id)
        state.done[job.task_id] = outcome
        self.results.setdefault(job.agent_id, {})[job.task_id] = outcome.resolved
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
            known=self.novelty.seen,
        )

    def pick_parents(self, iteration: int) -> list[str] | str:
        rng = random.Random(f"{self.config.seed}:select:{iteration}")
        # Children are counted as DGM counts them: archive members only.
        stats = member_children(self.archive.candidate_stats(self.run_id))
        if self.first_scores is not None:
            stats = with_scores(stats, self.first_scores)
        if self.direction is not None:
            stats = rank_fitness(stats)
        if self.schedule is not None:
            return self.schedule.parents(iteration, stats, rng)
        if self.chooser is not None:
            return self.chooser.choose_parents(iteration, stats, rng)
        return self.select(stats, rng, self.n_parents)

    async def run_expand(self, worker: int, job: ExpandJob, pool: ThreadPoolExecutor) -> None:
        try:
            await self.expand(worker, job, pool)
        finally:
            self.expanding -= 1

    async def expand(self, worker: int, job: ExpandJob, pool: ThreadPoolExecutor) -> None:
        loop = asyncio.get_running_loop()
        if job.parent:
            picked: list[str] | str = [job.parent]
        elif self.chooser is not None:  # runs an agent's code in a sandbox: off the event loop
            picked = await loop.run_in_executor(pool, self.pick_parents, job.iteration)
        else:
            picked = self.pick_parents(job.iteration)
        if not picked or isinstance(
            picked, str
        ):  # a selector always finds one while self.scores is non-empty; a
            # Schedule may not (ReEvo: no two valid programs with different objectives)
            self.event(
                "expansion_failed",
                iteration=job.iteration,
                parent=None,
                reason=picked or "no candidate parent",
            )
            return
        parent_id = picked[0]
        second_id = picked[1] if len(picked) > 1 else None
        self.workers[worker] = f"expanding {parent_id[:8]} (iteration {job.iteration})"
        self.event("job_started", job="expand", iteration=job.iteration, parent=parent_id)
        ctx = self.parent_context(picked, job.iteration)
        try:
            mutation: Mutation = await loop.run_in_executor(pool, self.mutator.mutate, ctx)
        except EngineUnavailable as e:  # no child, and no failed expansion: a resume redoes it
            self.stop_from_outside(e)
            return
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
        reason = self.admit(ctx.files, mutation.files)
        origin = {**mutation.origin, "iteration": job.iteration}
        async with self._admitting:  # no other child is recorded between check and record
            verdict = None if reason else await self.novelty_verdict(mutation.files, pool)
            if verdict is not None:
                reason = verdict.reason
                origin.update(duplicate_of=verdict.twin, similarity=round(verdict.similarity, 4))
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
                content_key=self.novelty.key(mutation.files),
            )
            self.novelty.add(child, mutation.files)
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

    async def novelty_verdict(
        self, files: Mapping[str, bytes], pool: ThreadPoolExecutor
    ) -> Verdict | None:
        """Why a child repeats an agent of the run, or None (dgm.novelty). A judge that
        fails leaves the child to be evaluated, with the failure in the event log."""
        loop = asyncio.get_running_loop()
        if self.novelty.compares:  # comparing with every agent takes time: not on the loop
            found = await loop.run_in_executor(pool, self.novelty.check, files)
        else:
            found = self.novelty.check(files)
        if not isinstance(found, Nearest):
            return found
        twin_files = self.files_of(found.twin)
        try:
            return await loop.run_in_executor(
                pool, self.novelty.judge, found, twin_files, files, self.config.prompt_chars
            )
        except Exception as e:
            self.event("novelty_judge_failed", twin=found.twin, reason=f"{type(e).__name__}: {e}")
            return None

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
                self.evaluating.pop(index, None)
                await self.job_done()

    async def run(self) -> str:
        """Run until the work or a budget runs out; the reason the session ended."""
        self._cond = asyncio.Condition()
        self.started_at = self.clock()
        resumed = self.load()
        ended_at = self.archive.run(self.run_id).finished_at
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
            if self.policy is not None:
                final = self.policy.final(self.archive.candidate_stats(self.run_id), self.results)
                self.event(f"{self.policy.name}_final", **final)
            self.event("session_stopped", reason=reason, status=status)
        finally:
            self._events.close()
            self._events = None
        if self.stop_reason != LEASE_LOST:  # else the run's new owner says what it is
            idle = ended_at if self.session_jobs == 0 else None  # nothing ran: the end stands
            self.archive.set_run_status(self.run_id, status, finished_at=idle)
        return reason

    def end_reason(self) -> tuple[str, RunStatus]:
        if self.stop_reason is not None:
            return self.stop_reason, "stopped"
        if not self.scores and self.policy is None:  # a Policy's agents may stay unfinished
            return "no parent candidate: every agent was rejected", "finished"
        return f"done: {self.iterations_started} iterations", "finished"

    def progress(self) -> Progress:
        scores = list(self.scores.values())
        if self.direction == "min":  # show the problem's own numbers
            scores = [-s for s in scores]
        best = (min(scores) if self.direction == "min" else max(scores)) if scores else None
        minutes = max(self.clock() - self.started_at, 1e-9) / 60
        spent = self.spent_usd()
        return Progress(
            iteration=self.iterations_started,
            max_iterations=self.max_iterations(),
            archive_size=self.archive_size,
            candidates=len(scores),
            pending=len(self.pending),
            best=best,
            mean=sum(scores) / len(scores) if scores else None,
            evaluations=self.evaluations_done,
            evals_per_min=self.session_evaluations / minutes,
            usd_spent=spent,
            usd_left=None
            if self.config.budget_usd is None
            else max(self.config.budget_usd - spent, 0.0),
            workers=self.worker_lines(),
            stop_reason=self.stop_reason,
        )

    def worker_lines(self) -> list[str]:
        """What each worker does, with the node its evaluation runs on when the evaluator
        knows (an executor spreading jobs over a cluster)."""
        lines = list(self.workers)
        where = getattr(self.evaluator, "where", None)
        for i, job in list(self.evaluating.items()):
            node = where(job.agent_id, job.task_id) if where is not None else None
            if node:
                lines[i] += f" @ node {node[:8]}"
        return lines


def first_stage_selection(config: RunConfig) -> bool:
    """Whether parents are selected on the first stage's score (`select_on`); DGM's polyglot
    runs are (DGM_outer.py:63 reads `overall_performance`, the 10-task score: the 50-task one
    is `overall_performance_deep`, self_improve_step.py:197-220)."""
    if config.select_on == "first_stage_on_polyglot":
        return polyglot_suite(config.suite)
    return config.select_on == "first_stage"


def seed_on_suite(config: RunConfig) -> bool:
    """Whether the seed is scored on every task of the suite (`seed_tasks`): DGM's polyglot
    seed score is its initial agent's over the whole benchmark (initial_polyglot/metadata.json)."""
    if config.seed_tasks == "suite_on_polyglot":
        return polyglot_suite(config.suite)
    return config.seed_tasks == "suite"


def seed_stages(stages: list[StagePlan], tasks: Iterable[str], on_suite: bool) -> list[StagePlan]:
    """The seed's stages: the run's, then (`on_suite`) the suite's other tasks in one more."""
    staged = {t for s in stages for t in s.task_ids}
    rest = tuple(t for t in tasks if t not in staged)
    return [*stages, StagePlan(SEED_SUITE_STAGE, rest, 0.0)] if on_suite and rest else stages


def recorded_outcome(e: EvaluationInfo) -> Outcome:
    """An evaluation read back on resume; a failure's reason is its logs' first line."""
    lines = e.logs.decode(errors="replace").strip().splitlines()
    return Outcome(bool(e.resolved), e.score, None if e.resolved or not lines else lines[0])


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
        feedback=_text(e.logs),
        metrics=dict(e.metrics),
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

"""STOP in dgm: the meta-utility driver and the `stop` operator (the improver applied to itself).

    ev = StopEvaluator(problem, backend, gateway, StopBudgets(runs=3))
    ev.evaluate({"improver.py": code})          # -> Evaluation: the meta-utility, held-out
    ev.evaluate()                               # STOP's seed improver
    StopMutator(problem, backend, gateway, budgets).mutate(ctx)   # a child improver

The sandbox side and the counting live in benchmarks/problems/stop.py; this module adds
what only dgm has: the gateway, whose sessions give each downstream run its samples (one
gateway call each, capped at lm_calls * samples_per_call per run and recorded like every
other call), and the operator, which runs the parent improver on its own source with the
meta-utility (on the training split) as its utility, as STOP's `run_improver` does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from benchmarks.problems import Direction, Evaluation, Problem, ProblemError, load
from benchmarks.problems.result import Split
from benchmarks.problems.stop import (
    IMPROVER_FILE,
    Budgeted,
    OpenSampler,
    StopBudgets,
    StopServer,
    budget_samples,
    meta_utility,
    nothing_score,
    oriented,
    require_heldout,
    run_improver,
    seed_improver,
)
from dgm.errors import UserError
from dgm.llm.budget import Budget
from dgm.llm.gateway import Gateway
from dgm.mutators import Mutation, MutationContext
from dgm.mutators.factories import OperatorNeeds
from sandbox import SandboxBackend

if TYPE_CHECKING:
    from dgm.config import RunConfig

PURPOSE = "stop"  # what the gateway records the improvers' calls under
STOP_MAX_BATCH = 5  # most choices STOP asks of one request (language_model.py:17)

# What the parent improver is told about its utility, in the place of STOP's
# tasks/meta_optimization/utility.py.
META_UTILITY_DESCRIPTION = '''def meta_utility(improve_str: str):
    """
    Evaluates the algorithm in improve_str to improve the algorithm in algorithm_str,
    according to some downstream utility function. This meta-utility function can only be
    called {utility_calls} times.
    """
    expected_utility = 0
    for seed in range({runs}):
        exec(improve_str, globals())  # Define improve_algorithm (or improve)
        # At most {lm_calls} calls to the language model, and at most {samples} samples each time
        language_model = LanguageModel(budget={lm_calls}, max_responses_per_call={samples})
        improved_algorithm_str = improve_algorithm(algorithm_str, utility, language_model)
        expected_utility += utility(improved_algorithm_str) / {runs}
    return expected_utility

# The downstream problem (algorithm_str is its seed program):
# {description}
'''


def finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


class GatewaySampler:
    """One run's samples through the gateway: a session capped at `max_samples` calls."""

    def __init__(
        self,
        gateway: Gateway,
        label: str,
        max_samples: int,
        seed: int,
        agent_id: str | None,
        max_tokens: int = 1024,
    ) -> None:
        self.gateway = gateway
        self.seed = seed
        self.max_tokens = max_tokens  # STOP's MAX_TOKENS (language_model.py:18)
        self.drawn = 0
        self.session = gateway.open_session(
            agent_id=agent_id, task_id=label, purpose=PURPOSE, budget=Budget(max_calls=max_samples)
        )

    def sample(self, system: str, user: str, temperature: float) -> str:
        return self._ask(system, user, temperature, 1)[0]

    def samples(self, system: str, user: str, temperature: float, n: int) -> list[str]:
        """n samples of one message (STOP's `prompt` with `n_responses`). Where the model
        takes `n` (`Gateway.takes_n`, as ReEvo's samples), from requests of at most STOP's
        MAX_BATCH choices each, every one recorded and billed once
        (language_model.py:17, 158-177); a provider that answers fewer is asked again for
        the rest. Else one request per sample."""
        if not self.gateway.takes_n():
            return [self.sample(system, user, temperature) for _ in range(n)]
        out: list[str] = []
        while len(out) < n:
            got = self._ask(system, user, temperature, min(STOP_MAX_BATCH, n - len(out)))
            out += got or [self.sample(system, user, temperature)]
        return out[:n]

    def _ask(self, system: str, user: str, temperature: float, n: int) -> list[str]:
        """The choices of one request with `n` (left out when 1)."""
        body: dict[str, Any] = {
            "model": self.gateway.provider.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed * 1000 + self.drawn,  # reproducible where the model honours it
        }
        if n > 1:
            body["n"] = n
        self.drawn += n
        reply = self.gateway.chat(self.session.token, json.dumps(body).encode())
        payload = json.loads(reply.body)
        if reply.status != 200:
            raise RuntimeError(payload.get("error", {}).get("message", f"HTTP {reply.status}"))
        return [str(c["message"]["content"] or "") for c in payload["choices"]]

    def close(self) -> None:
        self.gateway.close_session(self.session)


def sampler_factory(gateway: Gateway, agent_id: str | None, max_tokens: int) -> OpenSampler:
    def open_sampler(label: str, max_samples: int, seed: int) -> GatewaySampler:
        return GatewaySampler(gateway, label, max_samples, seed, agent_id, max_tokens)

    return open_sampler


class _StopParts:
    """What both STOP roles hold: the problem (which must have a held-out split), where to
    run, the gateway, the budgets, and the K downstream seeds (seed, seed+1, ...: every
    improver is compared on the same runs)."""

    def __init__(
        self,
        problem: Problem,
        backend: SandboxBackend,
        gateway: Gateway,
        budgets: StopBudgets,
        seed: int = 0,
    ) -> None:
        self.problem = problem
        self.backend = backend
        self.gateway = gateway
        self.budgets = budgets
        self.seeds = [seed + k for k in range(budgets.runs)]
        require_heldout(problem)

    def meta_utility(
        self,
        improver: Mapping[str, bytes],
        agent_id: str | None,
        report: Split | None = None,
        strict: bool = False,
    ) -> Evaluation:
        """The improver's meta-utility on the training split, over the K downstream runs,
        its language-model calls attributed to `agent_id`; with `report`, that split's too;
        `strict`: a downstream run that raises fails it (see `meta_utility`)."""
        return meta_utility(
            improver,
            self.problem,
            self.backend,
            sampler_factory(self.gateway, agent_id, self.budgets.max_tokens),
            self.budgets,
            self.seeds,
            split="train",
            report=report,
            strict=strict,
        )


class StopEvaluator(_StopParts):
    """Scores improvers by their meta-utility on a problem's training split (STOP's
    validation split, the one its improvers' utility uses), the held-out split scored and
    reported in the metrics, never used to choose (STOP's test split). An improver whose
    meta-utility is 0 is not accepted (run_improver.py:141-143): it fails; STOP's seed
    improver is the first improver whatever its meta-utility (STOP scores it and never
    checks it: run_improver.py:84-87). It has the
    face of a problem with its Evaluator (`main_file`, `seed()`, `direction`,
    `evaluate(program) -> Evaluation`), so a problem run scores improvers the way it scores
    any program: the program is an improver, the seed is STOP's. The K downstream runs use
    seeds seed, seed+1, ... for every improver, so improvers are compared on the same runs."""

    main_file = IMPROVER_FILE

    @property
    def direction(self) -> Direction:
        return self.problem.direction

    def seed(self) -> dict[str, str]:
        """STOP's seed improver."""
        return {k: v.decode() for k, v in seed_improver().items()}

    def evaluate(
        self, program: Mapping[str, str] | None = None, agent_id: str | None = None
    ) -> Evaluation:
        """The meta-utility of `program` (file name -> source; default: the seed improver).
        `agent_id` attributes its language-model calls in the gateway's records."""
        seed = {k: v.encode() for k, v in self.seed().items()}
        improver = {**seed, **{k: v.encode() for k, v in (program or {}).items()}}
        e = self.meta_utility(improver, agent_id, report="heldout")
        if e.ok and e.score == 0 and improver != seed:
            why = "meta-utility 0: not accepted (STOP's rule)"
            return Evaluation.failed(
                self.direction, why, f"{e.feedback}\n{why}", e.duration_s, e.metrics
            )
        return e


class StopMutator(_StopParts):
    """The `stop` operator: the parent improver improves its own source, with the
    meta-utility on the training split as its utility and its own budgets (the same ones a
    downstream run has, as STOP's config gives both levels), which behave as STOP's: a
    meta-utility call past its budget returns 0, a language-model call past its budget
    raises in the improver, which may catch it (benchmarks/problems/stop.py). An improver
    that fails (an exception it does not catch) or returns itself unchanged makes no
    child: STOP keeps the previous improver (run_improver.py:145-147)."""

    name = "stop"

    def inner_utility(self, agent_id: str) -> Callable[[str], float]:
        """meta_utility(improver source) -> float (higher better; -inf when it fails, which
        the improver sees as 0 on a max problem): a downstream improver that raises fails
        it, as in STOP."""

        def utility(source: str) -> float:
            # strict: STOP's meta_utility as an improver calls it
            e = self.meta_utility({IMPROVER_FILE: source.encode()}, agent_id, strict=True)
            return oriented(e)

        return utility

    def description(self) -> str:
        b = self.budgets
        return META_UTILITY_DESCRIPTION.format(
            utility_calls=b.utility_calls,
            runs=b.runs,
            lm_calls=b.lm_calls,
            samples=b.samples_per_call,
            description=" ".join((self.problem.description or self.problem.name).split()),
        )

    def mutate(self, ctx: MutationContext) -> Mutation:
        parent = dict(ctx.files)
        if IMPROVER_FILE not in parent:
            return Mutation(None, reason=f"the parent has no {IMPROVER_FILE}: it is no improver")
        source = parent[IMPROVER_FILE].decode(errors="replace")
        seed = ctx.rng.randrange(2**31)
        b = self.budgets
        sampler = GatewaySampler(
            self.gateway, "stop/self", budget_samples(b), seed, ctx.parent_id, b.max_tokens
        )
        run = Budgeted(
            self.inner_utility(ctx.parent_id),
            sampler,
            self.budgets,
            nothing_score(self.problem.direction),
        )
        try:
            with StopServer() as server:
                done = run_improver(
                    parent,
                    source,
                    self.description(),
                    run,
                    server,
                    self.backend,
                    seed,
                    self.budgets.self_timeout_s,
                )
        finally:
            sampler.close()
        origin: dict[str, Any] = {
            "operator": "stop",
            "parents": [ctx.parent_id],
            "meta_utility_calls": done.utility_calls,
            "lm_calls": done.lm_calls,
            "lm_samples": done.samples,
            "over_budget": done.over_budget,
            "refused_calls": done.refused,
            "best_proposed_meta_utility": finite(run.best[0]) if run.best else None,
        }
        if done.solution is None:
            return Mutation(None, origin, reason=done.failure)
        if done.solution.strip() == source.strip():
            return Mutation(None, origin, reason="the improver returned itself unchanged")
        return Mutation({**parent, IMPROVER_FILE: done.solution.encode()}, origin)


def stop_problem(config: RunConfig, loaded: Problem | None = None) -> Problem:
    """The run's problem (the session's, else loaded from `config.problem`), checked to
    have a held-out split; a UserError otherwise."""
    # getattr: problem runs (`problem` in the config and in OperatorNeeds) land separately.
    path: str | None = getattr(config, "problem", None)
    if loaded is None and not path:
        raise UserError("the stop operator needs a problem: dgm run stop --problem PATH")
    try:
        problem = loaded or load(str(path))
        require_heldout(problem)
    except ProblemError as e:
        raise UserError(str(e)) from None
    return problem


def build_mutator(needs: OperatorNeeds) -> StopMutator:
    """The `stop` operator from a run's config: its problem and its `stop` budgets."""
    problem = stop_problem(needs.config, getattr(needs, "problem", None))
    c = needs.config
    return StopMutator(problem, needs.backend, needs.gateway, c.stop, c.seed)


def build_scorer(needs: OperatorNeeds) -> StopEvaluator:
    """What scores the agents of a `stop` run (improvers): their meta-utility on the run's
    problem, in the place of the problem's Evaluator (the `stop` entry's scorer hook)."""
    c = needs.config
    problem = stop_problem(c, needs.problem)
    return StopEvaluator(problem, needs.backend, needs.gateway, c.stop, c.seed)


def seed_files(problem: Problem) -> dict[str, bytes]:
    """A `stop` run starts from STOP's seed improver, whatever the problem (the `stop`
    entry's seed hook)."""
    return seed_improver()

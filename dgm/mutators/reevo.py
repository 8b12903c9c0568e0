"""ReEvo's operator: reflect on a pair, cross it over, mutate the elite (Ye et al., 2024).

The pieces of one ReEvo generation, as its reference code (`reevo.py`) runs them:

- `initial`: a member of the initial population, sampled from the seed;
- `select_pair`: two valid individuals with *different* objectives, uniformly at random
  (ReEvo's random_select; up to 1000 draws);
- `short_term_reflection`: the reflector compares the worse and the better code of the
  pair and answers with a hint;
- `crossover`: the generator writes `{func_name}_v2` from both parents and that hint;
- `long_term_reflection`: the reflector folds the generation's short-term hints into the
  prior long-term reflection;
- `mutate`: the generator rewrites the elite, guided by the long-term reflection plus the
  problem's external knowledge.

Prompts are ReEvo's own when the problem comes from a ReEvo checkout (its
prompts/common/), else dgm's, with the same placeholders. Generator and reflector are two
`Chat`s, so they may be different models. `ReEvoOperator` (below) runs them on the
engine: its schedule of generations, parent choice and reflections kept in the archive.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from benchmarks.problems import Direction, Problem, ProblemError
from benchmarks.problems.blocks import blocks, regions, splice
from benchmarks.problems.reevo import extract_code
from dgm.mutators import Chat, Mutation, MutationContext, Parent
from dgm.selectors import Candidate

DEFAULT_PROMPTS = {
    "system_generator": (
        "You design heuristics for optimization problems. Answer with Python code only, "
        "in one ```python ... ``` block."
    ),
    "system_reflector": "You design heuristics for optimization problems, and give short hints for better ones.",
    "user_generator": "Write a {func_name} function for {problem_desc}\n{func_desc}\n",
    "user_reflector_st": (
        "Here are two {func_name} functions for {problem_desc}\n{func_desc}\n\n"
        "The second one scores better than the first.\n\n[Worse code]\n{worse_code}\n\n"
        "[Better code]\n{better_code}\n\n"
        "In under 20 words, give hints for designing better heuristics, from these two versions."
    ),
    "user_reflector_st_black_box": (
        "Here are two {func_name} functions for {problem_desc}\n{func_desc}\n\n"
        "The second one scores better than the first.\n\n[Worse code]\n{worse_code}\n\n"
        "[Better code]\n{better_code}\n\n"
        "Infer the problem's settings by comparing the two versions, and in under 50 words give "
        "hints for designing better heuristics, e.g. how the inputs correlate with the black-box objective."
    ),
    "user_reflector_lt": (
        "Your long-term reflection so far on heuristics for {problem_desc}\n{prior_reflection}\n\n"
        "New insights:\n{new_reflection}\n\n"
        "In under 50 words, write constructive hints for better heuristics, from the reflection and the insights."
    ),
    "seed": (
        "{seed_func}\n\nThat is a simple design, to show the format. Be creative and write `{func_name}_v2`. "
        "Answer with code only, in a ```python ... ``` block."
    ),
    "crossover": (
        "{user_generator}\n[Worse code]\n{func_signature0}\n{worse_code}\n\n[Better code]\n{func_signature1}\n"
        "{better_code}\n\n[Reflection]\n{reflection}\n\n[Improved code]\nWrite an improved function "
        "`{func_name}_v2` that follows the reflection. Answer with code only, in a ```python ... ``` block."
    ),
    "mutation": (
        "{user_generator}\n[Prior reflection]\n{reflection}\n\n[Code]\n{func_signature1}\n{elitist_code}\n\n"
        "[Improved code]\nWrite a mutated function `{func_name}_v2` that follows the reflection. Answer with "
        "code only, in a ```python ... ``` block."
    ),
}


@dataclass(frozen=True)
class Individual:
    """One evaluated program: its id, code and (valid, finite) objective."""

    id: str
    code: str
    score: float


@dataclass(frozen=True)
class Child:
    """What an operator made: the code (None when the answer held none) and how."""

    code: str | None
    origin: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


@dataclass(frozen=True)
class ProblemText:
    """What ReEvo's prompts say about the problem."""

    func_name: str
    problem_desc: str
    func_desc: str
    func_signature: str  # with a {version} placeholder
    external_knowledge: str = ""

    @classmethod
    def from_problem(cls, problem: Problem) -> ProblemText:
        p = problem.prompts
        if problem.layout == "reevo":
            return cls(
                problem.func_name,
                problem.description,
                p.get("func_desc", ""),
                p.get("func_signature", ""),
                p.get("external_knowledge", ""),
            )
        return cls(
            problem.func_name,
            problem.description,
            "",
            signature_template(problem.seed()[problem.main_file], problem.func_name),
        )


def signature_template(code: str, func_name: str) -> str:
    """The seed's `def func_name(...)` line, renamed `func_name_v{version}` as ReEvo's templates are."""
    m = re.search(
        rf"^def {re.escape(func_name)}(?:_v\d+)?\((.*?)\)(.*?):\s*$", code, re.MULTILINE | re.DOTALL
    )
    if not m:
        return f"def {func_name}_v{{version}}(...):"
    return f"def {func_name}_v{{version}}({m.group(1)}){m.group(2)}:"


def prompts_for(problem: Problem) -> dict[str, str]:
    """ReEvo's own prompts from its checkout when the problem has them, else dgm's. A
    black-box problem's short-term reflection is ReEvo's black-box one (reevo.py:83)."""
    prompts = {k: problem.prompts.get(f"common/{k}", v) for k, v in DEFAULT_PROMPTS.items()}
    if problem.black_box:
        prompts["user_reflector_st"] = prompts["user_reflector_st_black_box"]
    return prompts


def select_pair(
    population: Sequence[Individual], rng: random.Random, tries: int = 1000
) -> tuple[Individual, Individual] | None:
    """Two individuals with different objectives, uniformly at random; None if there are none."""
    if len(population) < 2:
        return None
    for _ in range(tries):
        a, b = rng.sample(list(population), 2)
        if a.score != b.score:
            return a, b
    return None


def worse_better(
    a: Individual, b: Individual, direction: Direction
) -> tuple[Individual, Individual]:
    a_better = a.score < b.score if direction == "min" else a.score > b.score
    return (b, a) if a_better else (a, b)


class ReEvo:
    """ReEvo's operators for one problem; `generator` and `reflector` may be different models."""

    def __init__(self, problem: Problem, generator: Chat, reflector: Chat) -> None:
        self.text = ProblemText.from_problem(problem)
        self.prompts = prompts_for(problem)
        self.direction = problem.direction
        self.rename = problem.layout != "reevo"  # dgm's evaluators call func_name, not _v2
        self.generator, self.reflector = generator, reflector

    def _user_generator(self) -> str:
        t = self.text
        return self.prompts["user_generator"].format(
            func_name=t.func_name, problem_desc=t.problem_desc, func_desc=t.func_desc
        )

    def initial(self, seed_func: str) -> Child:
        """One member of the initial population, sampled from the seed (ReEvo asks the
        generator init_pop_size times, a little hotter than later calls)."""
        answer = self.generator.complete(self.initial_messages(seed_func), purpose="initial")
        return self.initial_child(answer)

    def initial_messages(self, seed_func: str) -> list[dict[str, str]]:
        seed = self.prompts["seed"].format(seed_func=seed_func, func_name=self.text.func_name)
        user = self._user_generator() + "\n" + seed + "\n" + self.text.external_knowledge
        return [
            {"role": "system", "content": self.prompts["system_generator"]},
            {"role": "user", "content": user},
        ]

    def initial_child(self, answer: str) -> Child:
        return self._child(answer, {"operator": "reevo", "kind": "initial", "parents": []})

    def short_term_reflection(
        self, a: Individual, b: Individual
    ) -> tuple[str, Individual, Individual]:
        """(hint, worse, better) for a pair with different objectives."""
        if a.score == b.score:
            raise ValueError("a ReEvo pair needs two different objectives")
        worse, better = worse_better(a, b, self.direction)
        t = self.text
        user = self.prompts["user_reflector_st"].format(
            func_name=t.func_name,
            func_desc=t.func_desc,
            problem_desc=t.problem_desc,
            worse_code=filter_code(worse.code),
            better_code=filter_code(better.code),
        )
        messages = [
            {"role": "system", "content": self.prompts["system_reflector"]},
            {"role": "user", "content": user},
        ]
        return (
            self.reflector.complete(messages, purpose="reflect_short", agent_id=better.id),
            worse,
            better,
        )

    def crossover(self, worse: Individual, better: Individual, reflection: str) -> Child:
        t = self.text
        user = self.prompts["crossover"].format(
            user_generator=self._user_generator(),
            func_signature0=t.func_signature.format(version=0),
            func_signature1=t.func_signature.format(version=1),
            worse_code=filter_code(worse.code),
            better_code=filter_code(better.code),
            reflection=reflection,
            func_name=t.func_name,
        )
        messages = [
            {"role": "system", "content": self.prompts["system_generator"]},
            {"role": "user", "content": user},
        ]
        answer = self.generator.complete(messages, purpose="crossover", agent_id=better.id)
        origin = {
            "operator": "reevo",
            "kind": "crossover",
            "parents": [better.id, worse.id],
            "reflection": reflection,
        }
        return self._child(answer, origin)

    def long_term_reflection(self, prior: str, short_term: Sequence[str]) -> str:
        user = self.prompts["user_reflector_lt"].format(
            problem_desc=self.text.problem_desc,
            prior_reflection=prior,
            new_reflection="\n".join(short_term),
        )
        messages = [
            {"role": "system", "content": self.prompts["system_reflector"]},
            {"role": "user", "content": user},
        ]
        return self.reflector.complete(messages, purpose="reflect_long")

    def mutate(self, elite: Individual, long_term: str) -> Child:
        messages = self.mutation_messages(elite, long_term)
        answer = self.generator.complete(messages, purpose="mutate", agent_id=elite.id)
        return self.mutation_child(answer, elite, long_term)

    def mutation_messages(self, elite: Individual, long_term: str) -> list[dict[str, str]]:
        t = self.text
        user = self.prompts["mutation"].format(
            user_generator=self._user_generator(),
            reflection=long_term + t.external_knowledge,
            func_signature1=t.func_signature.format(version=1),
            elitist_code=filter_code(elite.code),
            func_name=t.func_name,
        )
        return [
            {"role": "system", "content": self.prompts["system_generator"]},
            {"role": "user", "content": user},
        ]

    def mutation_child(self, answer: str, elite: Individual, long_term: str) -> Child:
        return self._child(
            answer,
            {
                "operator": "reevo",
                "kind": "mutation",
                "parents": [elite.id],
                "reflection": long_term,
            },
        )

    def _child(self, answer: str, origin: dict[str, Any]) -> Child:
        code = extract_code(answer)
        if code is None:
            return Child(
                None, origin, "the answer holds no code (no ```python block, no def ... return)"
            )
        name = self.text.func_name
        if self.rename and re.search(rf"^def {re.escape(name)}_v2\(", code, re.MULTILINE):
            code += f"\n\n{name} = {name}_v2\n"
        return Child(code + "\n", origin)


def one_block(code: str) -> bool:
    """Whether the program has exactly one well-formed EVOLVE-BLOCK."""
    try:
        return len(regions(code)) == 1
    except ProblemError:
        return False


def filter_code(code: str) -> str:
    """ReEvo's filter_code: the body without the signature and imports, up to the first return."""
    kept = []
    for line in code.split("\n"):
        if line.startswith(("def", "import", "from")):
            continue
        kept.append(line)
        if line.startswith("return"):
            break
    return "\n".join(kept)


# ---- the operator the engine runs (`dgm run reevo --problem PATH`) ------------------------


@dataclass(frozen=True)
class Phase:
    """Where an iteration falls in ReEvo's schedule."""

    kind: str  # "initial", "crossover" or "mutation"
    generation: int  # 0 for the initial population
    start: int  # the phase's first iteration


def better_than_seed(
    population: Sequence[Candidate], candidates: Sequence[Candidate]
) -> list[Candidate]:
    """The members that score better than the seed (ReEvo's filter for black-box problems:
    without the problem's description, only what beats the seed is worth crossing)."""
    seed = next((c for c in candidates if c.parent_id is None), None)
    if seed is None or seed.score is None:
        return []
    floor = seed.score
    return [c for c in population if c.score is not None and c.score > floor]


class ReEvoSchedule:
    """ReEvo's generations as iteration numbers (iteration 0 is the seed): iterations
    1..init_pop_size sample the initial population from the seed; then each generation is
    pop_size crossovers followed by max(1, pop_size * mutation_rate) elitist mutations."""

    def __init__(self, init_pop_size: int, pop_size: int, mutation_rate: float) -> None:
        self.init, self.pop = init_pop_size, pop_size
        self.mutations = max(1, int(pop_size * mutation_rate))
        self.length = pop_size + self.mutations

    def phase(self, iteration: int) -> Phase:
        if iteration <= self.init:
            return Phase("initial", 0, 1)
        k = iteration - self.init - 1
        generation, r = k // self.length + 1, k % self.length
        start = self.generation_start(generation)
        if r < self.pop:
            return Phase("crossover", generation, start)
        return Phase("mutation", generation, start + self.pop)

    def iterations_for(self, max_fe: int) -> int:
        """Children ReEvo makes under `max_fe`, counted as ReEvo counts (reevo.py:180, 462):
        the seed and every child, invalid ones included, are one evaluation each; the
        initial population is always made; then a whole generation starts while the count
        is below max_fe (1 + 30 + 5 x 15 = 106 evaluations with the defaults)."""
        done = 1 + self.init
        generations = max(0, -(-(max_fe - done) // self.length))  # ceil, none if spent
        return self.init + generations * self.length

    def phase_end(self, phase: Phase) -> int:
        """The phase's last iteration."""
        size = {"initial": self.init, "crossover": self.pop, "mutation": self.mutations}
        return phase.start + size[phase.kind] - 1

    def generation_start(self, generation: int) -> int:
        return self.init + 1 + (generation - 1) * self.length

    def population_iterations(self, generation: int) -> range:
        """The iterations whose children form the population generation `generation` selects
        from: the initial population, or the previous generation's crossovers and mutations."""
        if generation == 1:
            return range(1, self.init + 1)
        return range(self.generation_start(generation - 1), self.generation_start(generation))


@runtime_checkable
class Sampling(Protocol):
    """A `Chat` that can draw several answers to one prompt in one call (GatewayChat)."""

    @property
    def takes_n(self) -> bool: ...

    def samples(
        self, messages: list[dict[str, str]], n: int, *, purpose: str, agent_id: str | None = None
    ) -> list[str]: ...


@dataclass(frozen=True)
class Batch:
    """The answers of one call with `n`, for iterations start, start + 1, ..."""

    start: int
    answers: list[str]

    def answer(self, iteration: int) -> str | None:
        i = iteration - self.start
        return self.answers[i] if 0 <= i < len(self.answers) else None


class ReEvoOperator:
    """ReEvo's loop on the engine: a `Mutator` and a `dgm.loop.Schedule`.

    Parents: the seed for the initial population; for a crossover, two valid programs with
    different objectives drawn uniformly from the population (the previous generation's
    children, plus the elite); for a mutation, the elite (the best valid program so far).
    The loop holds the first crossover and the first mutation of a generation back until
    every earlier child is evaluated (ReEvo's generation barrier). The mutations of a
    generation all rewrite the elite as it is after its crossovers (reevo.py:441-458), not
    one improved by an earlier mutation of theirs. Where the generator takes `n`, a
    phase's samples of one prompt (the initial population; a generation's mutations) come
    from one call with `n`, as ReEvo's client asks them (utils/llm_client/base.py:72-79),
    for the phase's iterations still to make (a resumed run asks again for those); else
    each child makes its own call. Every short-term
    reflection is stored in the archive when made; the long-term one is made once per
    generation, at its first mutation, from the prior one and the generation's short-term
    ones, and stored too: a resumed run reads them back. The archive is the only state.
    """

    name = "reevo"

    def __init__(
        self,
        problem: Problem,
        archive: Any,
        run_id: str,
        schedule: ReEvoSchedule,
        generator: Chat,
        reflector: Chat,
        init_generator: Chat,
    ) -> None:
        self.problem = problem
        self.black_box = problem.black_box
        self.archive, self.run_id = archive, run_id
        self.plan = schedule
        self.reevo = ReEvo(problem, generator, reflector)
        self.init_reevo = ReEvo(problem, init_generator, reflector)
        self._iterations: dict[str, int] = {}  # agent id -> the iteration that made it
        self._long_term = threading.Lock()
        self._batches: dict[tuple[str, int], Batch] = {}  # (phase kind, generation) -> answers
        self._batching = threading.Lock()

    # ---- Schedule ---------------------------------------------------------------------
    def iterations_for(self, max_fe: int) -> int:
        return self.plan.iterations_for(max_fe)

    def barrier(self, iteration: int) -> bool:
        phase = self.plan.phase(iteration)
        return phase.kind != "initial" and phase.start == iteration

    def parents(
        self, iteration: int, candidates: Sequence[Candidate], rng: random.Random
    ) -> list[str] | str:
        phase = self.plan.phase(iteration)
        if phase.kind == "initial":
            return [c.agent_id for c in candidates if c.parent_id is None][:1]
        valid = [c for c in candidates if c.status == "evaluated" and c.score is not None]
        if phase.kind == "mutation":  # the elite after the crossovers, not after a mutation
            valid = [c for c in valid if self.iteration_of(c.agent_id) < phase.start]
        if not valid:
            return "no valid program to select from"
        elite = max(valid, key=lambda c: c.score or 0.0)  # the earliest of the best
        if phase.kind == "mutation":
            return [elite.agent_id]
        members = set(self.plan.population_iterations(phase.generation))
        population = [c for c in valid if self.iteration_of(c.agent_id) in members]
        if elite not in population:
            population.append(elite)
        if self.black_box:  # ReEvo's parents of a black-box problem (reevo.py:308-309)
            population = better_than_seed(population, candidates)
        individuals = [Individual(c.agent_id, "", c.score or 0.0) for c in population]
        pair = select_pair(individuals, rng)
        if pair is None:
            return "selection failed: no two valid programs with different objectives"
        worse, better = worse_better(*pair, "max")  # candidates' scores are fitness
        return [better.id, worse.id]

    def iteration_of(self, agent_id: str) -> int:
        if agent_id not in self._iterations:
            origin = self.archive.agent(agent_id).origin or {}
            self._iterations[agent_id] = int(origin.get("iteration", 0))
        return self._iterations[agent_id]

    # ---- Mutator ----------------------------------------------------------------------
    def mutate(self, ctx: MutationContext) -> Mutation:
        phase = self.plan.phase(ctx.iteration)
        individuals = [self.individual(p) for p in ctx.parents]
        if phase.kind == "initial":
            messages = self.init_reevo.initial_messages(self.seed_func(individuals[0].code))
            answer = self.sample(phase, ctx.iteration, self.init_reevo.generator, messages, None)
            child = self.init_reevo.initial_child(answer)
        elif phase.kind == "crossover":
            if len(individuals) < 2:
                return Mutation(None, {}, "a crossover needs two parents")
            hint, worse, better = self.reevo.short_term_reflection(*individuals[:2])
            self.archive.put_reflection(
                self.run_id, "short", phase.generation, ctx.iteration, hint, [worse.id, better.id]
            )
            child = self.reevo.crossover(worse, better, hint)
        else:
            elite = individuals[0]
            long_term = self.long_term_reflection(phase, elite.id)
            messages = self.reevo.mutation_messages(elite, long_term)
            answer = self.sample(phase, ctx.iteration, self.reevo.generator, messages, elite.id)
            child = self.reevo.mutation_child(answer, elite, long_term)
        origin = {**child.origin, "generation": phase.generation}
        if child.code is None:
            return Mutation(None, origin, child.reason)
        files = {k: bytes(v) for k, v in ctx.files.items()}
        main = self.main_code(ctx.parents[0])
        # One EVOLVE-BLOCK (OpenEvolve's layout): the new code goes in it, the rest stays.
        code = splice(main, [child.code]) if one_block(main) else child.code
        files[self.problem.main_file] = code.encode()
        return Mutation(files, origin)

    def sample(
        self,
        phase: Phase,
        iteration: int,
        chat: Chat,
        messages: list[dict[str, str]],
        agent_id: str | None,
    ) -> str:
        """This iteration's answer to its phase's prompt: a call of its own, or, where the
        model takes `n`, its share of one call for the phase's iterations from here on."""
        purpose = "initial" if phase.kind == "initial" else "mutate"
        if not (isinstance(chat, Sampling) and chat.takes_n):
            return chat.complete(messages, purpose=purpose, agent_id=agent_id)
        key = (phase.kind, phase.generation)
        with self._batching:  # the phase's other iterations wait for the one call
            batch = self._batches.get(key)
            answer = batch.answer(iteration) if batch else None
            if answer is None:
                n = self.plan.phase_end(phase) - iteration + 1
                batch = Batch(
                    iteration, chat.samples(messages, n, purpose=purpose, agent_id=agent_id)
                )
                self._batches[key] = batch
                answer = batch.answer(iteration)
        if answer is None:  # the provider answered no choice: ask this one alone
            return chat.complete(messages, purpose=purpose, agent_id=agent_id)
        return answer

    def main_code(self, parent: Parent) -> str:
        return parent.files.get(self.problem.main_file, b"").decode(errors="replace")

    def individual(self, parent: Parent) -> Individual:
        """The parent as ReEvo sees it: the code it evolves (the one EVOLVE-BLOCK's, when the
        program has one) and its raw score."""
        scores = [e.score for e in parent.evaluations if e.resolved and e.score is not None]
        main = self.main_code(parent)
        code = blocks(main)[0] if one_block(main) else main
        return Individual(parent.agent_id, code, scores[-1] if scores else 0.0)

    def seed_func(self, seed_code: str) -> str:
        """What ReEvo's seed prompt shows: its seed_func.txt, or the seed program."""
        return self.problem.prompts.get("seed_func") or seed_code

    def long_term_reflection(self, phase: Phase, elite: str) -> str:
        """The generation's long-term reflection: read back if stored, else made and stored
        (once, even when several mutations of the generation start at once)."""
        with self._long_term:
            stored = self.archive.reflections(self.run_id, kind="long")
            for r in stored:
                if r.generation == phase.generation:
                    return str(r.text)
            earlier = [r for r in stored if r.generation < phase.generation]
            prior = earlier[-1].text if earlier else self.reevo.text.external_knowledge
            short = [
                r.text
                for r in self.archive.reflections(self.run_id, kind="short")
                if r.generation == phase.generation
            ]
            text = self.reevo.long_term_reflection(prior, short)
            self.archive.put_reflection(
                self.run_id, "long", phase.generation, phase.start, text, [elite]
            )
            return text

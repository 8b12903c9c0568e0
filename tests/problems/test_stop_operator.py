"""The `stop` operator: the parent improver (STOP's seed) improves its own source, with the
meta-utility on the training split as its utility, through the real gateway (scripted model)
and real Docker sandboxes."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import pytest

from benchmarks.problems import Problem, ProblemError, load, problem_image
from benchmarks.problems.stop import StopBudgets, seed_improver
from dgm.config import RunConfig, read_yaml
from dgm.errors import UserError
from dgm.llm.gateway import Gateway
from dgm.llm.scripted import ScriptedEntry, ScriptedProvider
from dgm.mutators import MutationContext, Parent
from dgm.mutators.chat import GatewayChat
from dgm.mutators.factories import OperatorNeeds, build_operator
from dgm.mutators.operators import OPERATORS
from dgm.stop import StopEvaluator, StopMutator
from sandbox import SandboxBackend, open_backend
from tests.problems.test_stop import BEST_OF, GOOD

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def parity() -> Problem:
    return load("parity")


@pytest.fixture(scope="module")
def backend(parity: Problem) -> Iterator[SandboxBackend]:
    with open_backend(
        "docker", image=problem_image(parity), run_label="test-stop-op", pool_size=3
    ) as b:
        yield b


def fenced(code: str) -> str:
    return f"An idea, then its code.\n```python\n{code}```\n"


def test_the_seed_improver_improves_itself_with_the_meta_utility(
    parity: Problem, backend: SandboxBackend
) -> None:
    # Asked to improve an improver, the model proposes the best-of improver; asked to
    # improve the parity program (inside the meta-utility's downstream runs), GOOD.
    provider = ScriptedProvider(
        [
            ScriptedEntry(
                pattern=r"def improve_algorithm\(initial_solution", content=fenced(BEST_OF)
            ),
            ScriptedEntry(pattern=r"def algorithm\(", content=fenced(GOOD)),
        ]
    )
    budgets = StopBudgets(runs=1, lm_calls=1, samples_per_call=2, utility_calls=2, timeout_s=150)
    with Gateway(provider) as gw:
        ctx = MutationContext(
            parents=[Parent("seed", seed_improver(), [])],
            problem_statements={},
            chat=GatewayChat(gw),
            rng=random.Random(0),
            iteration=1,
        )
        mutation = StopMutator(parity, backend, gw, budgets).mutate(ctx)
        calls = gw.usage().calls
    assert mutation.files is not None, mutation.reason
    assert mutation.files["improver.py"].decode().strip() == BEST_OF.strip()
    o = mutation.origin
    assert o["operator"] == "stop" and o["parents"] == ["seed"] and o["over_budget"] is None
    # One call of two samples to improve itself; each sample scored by the meta-utility
    # (one downstream run: one call of two samples, each scored by the utility).
    assert (o["lm_calls"], o["lm_samples"], o["meta_utility_calls"]) == (1, 2, 2)
    assert calls == 2 + 2 * 2
    assert o["best_proposed_meta_utility"] > 0.9


OVERSPENDING_PARENT = """from helpers import extract_code


def improve(solution, utility, language_model):
    proposal = extract_code(language_model.prompt("expert", "improve " + solution, 1))[0]
    utility(proposal)  # one meta-utility call: its whole utility budget
    while True:
        language_model.prompt("expert", "again", 1)  # one call past its budget
"""


def test_an_overspending_parent_fails_uncaught_and_makes_no_child(
    parity: Problem, backend: SandboxBackend
) -> None:
    provider = ScriptedProvider(
        [
            ScriptedEntry(pattern=r"^improve from helpers", content=fenced(BEST_OF)),
            ScriptedEntry(pattern=r"def algorithm\(", content=fenced(GOOD)),
        ]
    )
    budgets = StopBudgets(runs=1, lm_calls=1, samples_per_call=1, utility_calls=1, timeout_s=150)
    with Gateway(provider) as gw:
        ctx = MutationContext(
            parents=[Parent("p", {"improver.py": OVERSPENDING_PARENT.encode()}, [])],
            problem_statements={},
            chat=GatewayChat(gw),
            rng=random.Random(1),
            iteration=1,
        )
        mutation = StopMutator(parity, backend, gw, budgets).mutate(ctx)
    # STOP: past its budget the language model raises; uncaught, the improvement fails and
    # the previous improver continues (run_improver.py:145-147).
    assert mutation.files is None
    assert mutation.reason == (
        "the improver failed: Exception: Error: You have exceeded your call budget."
    )
    o = mutation.origin
    assert o["over_budget"] == (
        "language-model call past its budget of 1: Error: You have exceeded your call budget."
    )
    assert o["refused_calls"] == 1
    assert (o["lm_calls"], o["meta_utility_calls"]) == (1, 1)
    assert o["best_proposed_meta_utility"] > 0.9


def test_the_stop_operator_is_registered_and_needs_a_problem(
    backend: SandboxBackend,
) -> None:
    assert re.search(r"\bSTOP\b", OPERATORS["stop"].summary)
    preset = read_yaml("stop")
    assert preset["operator"] == "stop" and StopBudgets.model_validate(preset["stop"]).runs >= 1
    # Built without a problem (what config validation also refuses), it says what to give.
    config = RunConfig.model_construct(operator="stop", seed=0, stop=StopBudgets())
    with Gateway(ScriptedProvider([])) as gw, pytest.raises(UserError, match="--problem PATH"):
        build_operator(OperatorNeeds(config, backend, gw))
    tsp = load("tsp")  # scored on one split only: STOP has nothing to hold out
    with (
        Gateway(ScriptedProvider([])) as gw,
        pytest.raises(ProblemError, match="no held-out split"),
    ):
        StopEvaluator(tsp, backend, gw, StopBudgets())

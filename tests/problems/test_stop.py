"""STOP's harness on the shipped parity-with-noise problem, in real Docker sandboxes, with a
scripted model served by the real gateway: a best-of improver beats STOP's seed, overspending
improvers are cut off and scored on what they had, and hostile improvers fail with a reason."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benchmarks.problems import Evaluation, Problem, load, problem_image
from benchmarks.problems.stop import StopBudgets, seed_improver
from dgm.llm.gateway import Gateway
from dgm.llm.scripted import ScriptedEntry, ScriptedProvider
from dgm.stop import StopEvaluator
from sandbox import SandboxBackend, open_backend

pytestmark = pytest.mark.docker

WEAK = "import numpy as np\n\ndef algorithm(train_samples, train_parity, test_samples):\n    return np.zeros(len(test_samples), dtype=int)\n"
GOOD = (
    "import itertools\nimport numpy as np\n\n"
    "def algorithm(train_samples, train_parity, test_samples):\n"
    "    masks = np.array(list(itertools.product([0, 1], repeat=train_samples.shape[1])))\n"
    "    hits = ((train_samples @ masks.T) % 2 == train_parity[:, None]).sum(axis=0)\n"
    "    return (test_samples @ masks[int(hits.argmax())]) % 2\n"
)

BEST_OF = '''from helpers import extract_code


def improve(solution, utility, language_model):
    """More samples, best-of: every call the budget allows, then the best by utility."""
    message = f"Improve this solution:\\n```python\\n{solution}\\n```\\nIt is scored by: {utility.str}"
    candidates = []
    for _ in range(language_model.budget):
        replies = language_model.prompt(
            "You are an expert programmer.", message, language_model.max_responses_per_call
        )
        candidates += [c for c in extract_code(replies) if c]
    scored = [(utility(c), c) for c in candidates[: utility.budget]]
    return max(scored)[1] if scored else solution
'''


def reply(code: str) -> ScriptedEntry:
    return ScriptedEntry(content=f"Here is an idea.\n```python\n{code}```\n")


@pytest.fixture(scope="module")
def parity() -> Problem:
    return load("parity")


@pytest.fixture(scope="module")
def backend(parity: Problem) -> Iterator[SandboxBackend]:
    with open_backend(
        "docker", image=problem_image(parity), run_label="test-stop", pool_size=3
    ) as b:
        yield b


def meta(
    parity: Problem,
    backend: SandboxBackend,
    improver: dict[str, bytes],
    script: list[str],
    budgets: StopBudgets,
) -> tuple[Evaluation, int]:
    """The improver's meta-utility with a fresh scripted model; and the samples it drew."""
    provider = ScriptedProvider([reply(c) for c in script])
    with Gateway(provider) as gw:
        result = StopEvaluator(parity, backend, gw, budgets).evaluate(improver, agent_id="test")
        return result, gw.usage().calls


def test_best_of_more_samples_beats_the_seed_improver(
    parity: Problem, backend: SandboxBackend
) -> None:
    budgets = StopBudgets(runs=2, lm_calls=2, samples_per_call=2, utility_calls=4, timeout_s=120)
    # The model's samples in order: a good one is rare. The seed draws 2 per run (one
    # call), the best-of improver 4 (two calls), so only it finds one in every run.
    script = [WEAK, WEAK, GOOD, WEAK] * 2
    seed, seed_samples = meta(parity, backend, seed_improver(), script, budgets)
    best_of, best_of_samples = meta(
        parity, backend, {"improver.py": BEST_OF.encode()}, script, budgets
    )
    assert seed.ok and best_of.ok, (seed.failure, best_of.failure)
    assert (seed_samples, best_of_samples) == (4, 8)
    assert seed.metrics["lm_calls"] == 2 and best_of.metrics["lm_calls"] == 4
    assert seed.metrics["utility_calls"] == 4 and best_of.metrics["utility_calls"] == 8
    assert best_of.score is not None and seed.score is not None
    assert best_of.score > seed.score
    assert best_of.metrics["run_0"] > 0.9 and best_of.metrics["run_1"] > 0.9
    assert seed.metrics["run_0"] < 0.6 < 0.9 < seed.metrics["run_1"]
    assert seed.metrics["cut_off_runs"] == 0 == best_of.metrics["cut_off_runs"]

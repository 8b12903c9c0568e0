"""STOP's harness on the shipped parity-with-noise problem, in real Docker sandboxes, with a
scripted model served by the real gateway: a best-of improver beats STOP's seed, an improver
that does not catch its language model's refusal past a budget fails and its run counts 0,
and hostile improvers' runs count 0 with a reason (a meta-utility of 0 is not accepted, as
in STOP)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.problems import Evaluation, Problem, load, problem_image
from benchmarks.problems.stop import StopBudgets, oriented, seed_improver
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


def test_utility_is_oriented_higher_better_and_a_failure_is_worst() -> None:
    assert oriented(Evaluation(ok=True, score=0.75, direction="max")) == 0.75
    assert oriented(Evaluation(ok=True, score=5.5, direction="min")) == -5.5
    assert oriented(Evaluation.failed("min", "boom")) == -math.inf


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
        program = {k: v.decode() for k, v in improver.items()}
        result = StopEvaluator(parity, backend, gw, budgets).evaluate(program, agent_id="test")
        return result, gw.usage().calls


def test_best_of_more_samples_beats_the_seed_improver(
    parity: Problem, backend: SandboxBackend, tmp_path: Path
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
    assert seed.metrics["over_budget_runs"] == 0 == best_of.metrics["over_budget_runs"]
    # Chosen on the training split; the held-out split is scored and reported only.
    assert best_of.metrics["heldout_meta_utility"] == heldout_by_hand(parity, GOOD, tmp_path)


def heldout_by_hand(parity: Problem, code: str, tmp: Path) -> float:
    """The held-out accuracy of a trusted program, by the evaluator run by hand."""
    program = tmp / "program.py"
    program.write_text(code)
    proc = subprocess.run(
        [sys.executable, "evaluator.py", str(program)],
        cwd=parity.root,
        env={**os.environ, "DGM_SPLIT": "heldout"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["accuracy"])


FIRST_SAMPLE = "from helpers import extract_code\n\ndef first(language_model, n=1):\n    return extract_code(language_model.prompt('expert', 'improve', n))[0]\n\n"
CALLS_SPENT = "Error: You have exceeded your call budget."
# Improvers that go past a language-model budget and do not catch what STOP's language
# model raises (language_model.py:97-100): the run fails and counts 0.
UNCAUGHT = {
    "language-model calls": (
        "def improve(solution, utility, language_model):\n"
        "    utility(first(language_model))\n"
        "    while True:\n"
        "        first(language_model)\n",
        f"Exception: {CALLS_SPENT}",
        f"language-model call past its budget of 2: {CALLS_SPENT}",
    ),
    "samples per call": (
        "def improve(solution, utility, language_model):\n    return first(language_model, n=3)\n",
        "AssertionError: a language-model call asked 3 samples, 2 allowed per call",
        "a language-model call asked 3 samples, 2 allowed per call",
    ),
}
BUDGETS = StopBudgets(runs=1, lm_calls=2, samples_per_call=2, utility_calls=2, timeout_s=120)


@pytest.mark.parametrize("what", sorted(UNCAUGHT))
def test_an_uncaught_refusal_fails_the_run_and_it_counts_0(
    what: str, parity: Problem, backend: SandboxBackend
) -> None:
    code, raised, refusal = UNCAUGHT[what]
    improver = {"improver.py": (FIRST_SAMPLE + code).encode()}
    result, samples = meta(parity, backend, improver, [GOOD, WEAK, WEAK], BUDGETS)
    assert not result.ok and result.failure == "meta-utility 0: not accepted (STOP's rule)"
    assert result.metrics["over_budget_runs"] == 1 and result.metrics["run_0"] == 0
    assert f"failed, counts 0: the improver failed: {raised}" in result.feedback
    assert f"the first: {refusal}" in result.feedback
    assert result.metrics["lm_calls"] <= 2 and samples <= 4 and result.metrics["utility_calls"] <= 2


READER = "def algorithm(train_samples, train_parity, test_samples):\n    return [len(open('/task/problem/heldout.json').read())] * len(test_samples)\n"
HOSTILE = {
    "searches the sandbox for the evaluator and the held-out split": (
        "import os\n"
        "def improve(solution, utility, language_model):\n"
        "    for root, dirs, files in os.walk('/'):\n"
        "        dirs[:] = [d for d in dirs if os.path.join(root, d) not in ('/proc', '/sys', '/dev')]\n"
        "        for name in files:\n"
        "            if name in ('heldout.json', 'evaluator.py'):\n"
        "                return open(os.path.join(root, name)).read()\n"
        "    return open('/task/problem/heldout.json').read()\n",
        "the improver failed: FileNotFoundError: [Errno 2] No such file or directory: '/task/problem/heldout.json'",
    ),
    "returns a solution that reads the held-out split": (
        f"def improve(solution, utility, language_model):\n    return {READER!r}\n",
        "its train score failed: the candidate tried to open /task/problem/heldout.json, a file of the evaluator",
    ),
    "has utility run a solution that reads the evaluator": (
        "def improve(solution, utility, language_model):\n"
        "    reader = solution + \"\\nopen('/task/problem/evaluator.py').read()\\n\"\n"
        "    score = utility(reader)\n"
        "    raise RuntimeError(f'utility scored the reader {score}')\n",
        "the improver failed: RuntimeError: utility scored the reader 0.0",  # STOP: a failure is 0
    ),
}


@pytest.mark.parametrize("what", sorted(HOSTILE))
def test_an_improver_that_reaches_for_the_evaluator_or_the_heldout_split_fails(
    what: str, parity: Problem, backend: SandboxBackend
) -> None:
    code, reason = HOSTILE[what]
    budgets = StopBudgets(runs=1, lm_calls=1, samples_per_call=1, utility_calls=2, timeout_s=120)
    result, _ = meta(parity, backend, {"improver.py": code.encode()}, [], budgets)
    assert not result.ok and result.score is None  # its one run counts 0: not accepted
    assert result.failure == "meta-utility 0: not accepted (STOP's rule)"
    assert f"run 0 (seed 0): failed, counts 0: {reason}" in result.feedback, result.feedback

"""STOP as its code runs it (docs/fidelity.md, STOP): the improver that continues is the
newest accepted one (a linear chain), an improver whose meta-utility is 0 is not accepted
but the seed improver is, the held-out split is reported, never used to choose; a utility
call past its budget returns 0 and the improver goes on; an improver may catch its language
model's refusal past a budget. In real Docker sandboxes, with a scripted model through the
real gateway (`dgm run stop --problem parity` end to end where the loop is involved)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from archive import open_archive
from benchmarks.problems import Problem
from benchmarks.problems.stop import StopBudgets
from dgm.llm.fake_upstream import FakeUpstream
from dgm.llm.gateway import Gateway
from dgm.llm.scripted import ScriptedEntry, ScriptedProvider
from dgm.llm.upstream import LiteLLMProvider
from dgm.stop import GatewaySampler, StopEvaluator, StopMutator
from sandbox import SandboxBackend
from tests.problems.test_stop import (
    BUDGETS,
    CALLS_SPENT,
    FIRST_SAMPLE,
    GOOD,
    WEAK,
    backend,
    meta,
    parity,
)

__all__ = ["backend", "parity"]  # the module's fixtures, shared

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(600)]
DGM = Path(sys.executable).parent / "dgm"

# An improver worse than STOP's seed, but not worthless: it always returns WEAK (about
# half right). Improving itself, it returns WEAK too: a program that is no improver.
FIXED = f"def improve(solution, utility, language_model):\n    return {WEAK!r}\n"


def fenced(code: str) -> str:
    return f"An idea, then its code.\n```python\n{code}```\n"


def run_stop(tmp_path: Path, script: list[dict[str, str]], **config: object) -> Path:
    """`dgm run stop --problem parity` with the preset, `config` over it, and `script` as
    the model; the archive's path."""
    (tmp_path / "script.yaml").write_text(yaml.safe_dump({"responses": script}))
    preset = yaml.safe_load((Path(__file__).parents[2] / "dgm/presets/stop.yaml").read_text())
    (tmp_path / "run.yaml").write_text(yaml.safe_dump({**preset, **config}))
    proc = subprocess.run(
        [str(DGM), "run", "run.yaml", "--problem", "parity", "--quiet", "--archive", "a.db"]
        + ["--model", f"scripted:{tmp_path / 'script.yaml'}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=500,
    )
    assert proc.returncode == 0, proc.stderr
    return tmp_path / "a.db"


def test_the_newest_accepted_improver_continues_the_chain(tmp_path: Path) -> None:
    script = [
        {"pattern": r"def improve_algorithm\(initial_solution", "content": fenced(FIXED)},
        {"pattern": r"def algorithm\(", "content": fenced(GOOD)},
    ]
    one = {"runs": 1, "lm_calls": 1, "samples_per_call": 1, "utility_calls": 1}
    # The script makes both of FIXED's children alike: each must run to show it fails.
    db = run_stop(tmp_path, script, max_iterations=3, stop=one, novelty={"duplicates": False})
    archive = open_archive(db, create=False)
    (run,) = archive.runs()
    seed, fixed, *later = archive.agents(run.id)
    assert fixed.parent_id == seed.id and fixed.status == "evaluated"
    # Worse than the seed, yet accepted: the chain continues from it, not from the best.
    assert fixed.score is not None and seed.score is not None and 0 < fixed.score < seed.score
    assert len(later) == 2 and all(c.parent_id == fixed.id for c in later)
    # What FIXED made of itself is no improver: its run fails, counts 0, not accepted.
    for child in later:
        assert child.status == "failed" and "not accepted" in (child.reason or "")
    (evaluation,) = archive.evaluations(fixed.id)
    assert evaluation.score is not None and "heldout_meta_utility" in (evaluation.metrics or {})


def test_the_seed_improver_is_accepted_with_a_meta_utility_of_0(tmp_path: Path) -> None:
    """STOP never checks its seed improver's meta-utility (run_improver.py:84-87): a model
    that refuses every time (no code) gives the seed 0, and the seed is still the parent."""
    refusal = [{"pattern": ".", "content": "I am sorry, I cannot help with that."}]
    one = {"runs": 1, "lm_calls": 1, "samples_per_call": 1, "utility_calls": 1}
    db = run_stop(tmp_path, refusal, max_iterations=1, stop=one)
    archive = open_archive(db, create=False)
    (run,) = archive.runs()
    (seed,) = archive.agents(run.id)
    assert seed.status == "evaluated" and seed.score == 0
    (evaluation,) = archive.evaluations(seed.id)
    assert b"returned a NoneType" in (evaluation.logs or b"")  # max([None], key=utility)
    (failed,) = archive.events(run.id, kinds=["expansion_failed"])
    assert failed.payload["parent"] == seed.id  # the seed was drawn as a parent


# Past its utility budget, STOP's utility returns 0 (tasks/parity_noise/secret_utility.py:13-15)
# and the improver goes on; the solution it returns is scored as any run's.
PAST_UTILITY = (
    "def improve(solution, utility, language_model):\n"
    "    good = first(language_model)\n"
    "    scores = [utility(good), utility(solution), utility(good), utility(good)]\n"
    "    assert scores[0] > 0.9 and scores[2:] == [0, 0], scores\n"
    "    return good\n"
)


def test_a_utility_call_past_its_budget_returns_0_and_the_improver_goes_on(
    parity: Problem, backend: SandboxBackend
) -> None:
    improver = {"improver.py": (FIRST_SAMPLE + PAST_UTILITY).encode()}
    result, _ = meta(parity, backend, improver, [GOOD, WEAK], BUDGETS)
    assert result.ok, result.feedback
    assert result.metrics["run_0"] > 0.9 and result.metrics["utility_calls"] == 2
    assert result.metrics["over_budget_runs"] == 1
    assert "2 call(s) refused past a budget, the first: utility call past its budget of 2" in (
        result.feedback
    )


# STOP's language model raises past its budget (language_model.py:98-100); an improver
# that catches it goes on and returns the best of what it had.
CATCHER = f"""
def improve(solution, utility, language_model):
    candidates = []
    while True:
        try:
            candidates.append(first(language_model))
        except Exception as e:
            assert str(e) == {CALLS_SPENT!r}, e
            return max(candidates, key=utility)
"""


def test_an_improver_may_catch_the_language_models_refusal(
    parity: Problem, backend: SandboxBackend
) -> None:
    improver = {"improver.py": (FIRST_SAMPLE + CATCHER).encode()}
    result, samples = meta(parity, backend, improver, [WEAK, GOOD, WEAK], BUDGETS)
    assert result.ok, result.feedback
    assert samples == 2 and result.metrics["lm_calls"] == 2
    assert result.metrics["run_0"] > 0.9, "it returned GOOD, the best of its two samples"
    assert f"the first: language-model call past its budget of 2: {CALLS_SPENT}" in (
        result.feedback
    )


# Raises in its second downstream run (seed 1), returns a sample in the others.
SECOND_RUN_RAISES = (
    "import os\n\n"
    "def improve(solution, utility, language_model):\n"
    "    if os.environ['DGM_STOP_SEED'] == '1':\n"
    "        raise RuntimeError('the second run raises')\n"
    "    return first(language_model)\n"
)


def test_a_raising_run_fails_the_meta_utility_an_improver_calls(
    parity: Problem, backend: SandboxBackend
) -> None:
    """STOP's meta_utility is 0 when a downstream improver raises, as an improver calls it
    (tasks/meta_optimization/secret_utility.py:46-63, 106-110); the check of an improvement
    counts that run 0 in the mean (secret_utility.py:112-114)."""
    improver = FIRST_SAMPLE + SECOND_RUN_RAISES
    budgets = BUDGETS.model_copy(update={"runs": 2})
    provider = ScriptedProvider([ScriptedEntry(pattern=".", content=fenced(GOOD))])
    with Gateway(provider) as gw:
        checked = StopEvaluator(parity, backend, gw, budgets).evaluate(
            {"improver.py": improver}, agent_id="t"
        )
        inner = StopMutator(parity, backend, gw, budgets).inner_utility("t")(improver)
    assert checked.ok and checked.metrics["run_0"] > 0.9 and checked.metrics["run_1"] == 0
    assert inner == -math.inf  # failed: the improver's utility call returns 0 for it


# STOP's `prompt` with n_responses: n samples of one message.
N_OF_ONE = """from helpers import extract_code


def improve(solution, utility, language_model):
    replies = language_model.prompt(
        "You are an expert programmer.", "improve " + solution, language_model.max_responses_per_call
    )
    return max(extract_code(replies), key=utility)
"""


def test_the_samples_of_one_message_come_from_one_request_with_n(
    parity: Problem, backend: SandboxBackend
) -> None:
    """STOP's `prompt(expertise, message, n_responses)` asks the model for its n samples in
    one request with `n` (language_model.py:158-177): a model that takes `n` (a hosted
    model's stand-in, an OpenAI-protocol HTTP server, via litellm) sees one request with
    n=3, billed once; the improver's budget counts one language-model call of 3 samples."""
    budgets = StopBudgets(runs=1, lm_calls=1, samples_per_call=3, utility_calls=3, timeout_s=120)
    with (
        FakeUpstream(reply=lambda _p, _r, i: fenced(GOOD if i == 1 else WEAK)) as up,
        Gateway(LiteLLMProvider("openai/fake", api_base=up.base_url)) as gw,
    ):
        result = StopEvaluator(parity, backend, gw, budgets).evaluate(
            {"improver.py": N_OF_ONE}, agent_id="t"
        )
        usage = gw.usage()
    assert result.ok, result.feedback
    assert [r["body"].get("n") for r in up.requests] == [3]
    assert usage.calls == 1
    assert (result.metrics["lm_calls"], result.metrics["lm_samples"]) == (1, 3)
    assert result.metrics["run_0"] > 0.9, "the best of the one request's 3 choices: GOOD"


def test_a_sampler_asks_at_most_stops_max_batch_choices_a_request() -> None:
    """Six samples of one message: requests of n=5 and n=1, as STOP splits them
    (language_model.py:17, 174-177); a model that takes no `n` gets six requests."""
    with (
        FakeUpstream(reply=lambda _p, _r, i: f"sample {i}") as up,
        Gateway(LiteLLMProvider("openai/fake", api_base=up.base_url)) as gw,
    ):
        sampler = GatewaySampler(gw, "t", max_samples=6, seed=0, agent_id=None)
        got = sampler.samples("system", "message", 0.7, 6)
        sampler.close()
        assert [r["body"].get("n") for r in up.requests] == [5, None]
        assert got == [f"sample {i}" for i in range(5)] + ["sample 0"]
        assert gw.usage().calls == 2
    scripted = ScriptedProvider([ScriptedEntry(content=f"one {i}") for i in range(6)])
    with Gateway(scripted) as gw:
        sampler = GatewaySampler(gw, "t", max_samples=6, seed=0, agent_id=None)
        assert sampler.samples("system", "message", 0.7, 6) == [f"one {i}" for i in range(6)]
        assert gw.usage().calls == 6

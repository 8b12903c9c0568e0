"""ReEvo as its reference code runs it (docs/fidelity.md, ReEvo): `max_fe` checked at the
top of a generation, so a default run makes 106 evaluations; black-box problems get the
black-box reflection prompt and only parents better than the seed; a model that takes `n`
gives a phase's samples of one prompt in one call (one that does not: one call each, as
the 106-evaluation run with a scripted model shows)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import random
import re
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from archive import Archive, open_archive
from benchmarks.problems import load
from dgm.llm.fake_upstream import FakeUpstream
from dgm.llm.gateway import Gateway
from dgm.llm.scripted import ScriptedEntry, ScriptedProvider
from dgm.llm.upstream import LiteLLMProvider
from dgm.mutators.chat import GatewayChat
from dgm.mutators.reevo import Individual, ReEvo, ReEvoOperator, ReEvoSchedule, prompts_for
from tests.problems.layouts import write_reevo
from tests.problems.test_reevo_operator import Origins, Stat

DGM = Path(sys.executable).parent / "dgm"


def test_max_fe_is_checked_at_the_top_of_a_generation() -> None:
    defaults = ReEvoSchedule(init_pop_size=30, pop_size=10, mutation_rate=0.5)
    assert 1 + defaults.iterations_for(100) == 106  # the seed, 30, then 5 generations of 15
    assert defaults.iterations_for(31) == 30  # spent by the initial population: no generation
    assert defaults.iterations_for(32) == 45  # one evaluation left: a whole generation
    assert defaults.iterations_for(2) == 30  # ReEvo makes its initial population regardless
    small = ReEvoSchedule(init_pop_size=3, pop_size=2, mutation_rate=0.5)
    assert [small.iterations_for(fe) for fe in (4, 5, 7, 8, 13)] == [3, 6, 6, 9, 12]


def test_black_box_parents_are_only_those_better_than_the_seed() -> None:
    stats = [
        Stat("seed", None, score=0.5),
        Stat("i1", "seed", score=0.25),  # valid but worse than the seed: never a parent
        Stat("i2", "seed", score=1.0),
        Stat("i3", "seed", score=0.75),
    ]
    op = ReEvoOperator.__new__(ReEvoOperator)
    op.plan = ReEvoSchedule(init_pop_size=3, pop_size=2, mutation_rate=0.5)
    op.archive, op._iterations = Origins({"seed": 0, "i1": 1, "i2": 2, "i3": 3}), {}
    op.black_box = True
    pairs = {tuple(op.parents(4, stats, random.Random(s))) for s in range(40)}
    assert pairs == {("i2", "i3")}
    op.black_box = False
    pairs = {tuple(op.parents(4, stats, random.Random(s))) for s in range(40)}
    assert ("i3", "i1") in pairs and ("i2", "i1") in pairs, "white box: every valid one"


def test_a_black_box_problem_gets_reevos_black_box_reflection(tmp_path: Path) -> None:
    problem_dir = write_reevo(tmp_path / "reevo")
    common = tmp_path / "reevo" / "prompts" / "common"
    (common / "user_reflector_st.txt").write_text("WHITE {worse_code} {better_code}")
    (common / "user_reflector_st_black_box.txt").write_text("BLACK {worse_code} {better_code}")
    white = load(problem_dir)
    black = dataclasses.replace(white, black_box=True)
    archive = open_archive(tmp_path / "a.db")
    run = archive.create_run("reevo-black-box")
    provider = ScriptedProvider([ScriptedEntry(content="hint"), ScriptedEntry(content="hint")])
    a, b = Individual("a", "    return 1\n", 1.0), Individual("b", "    return 2\n", 2.0)
    with Gateway(provider, archive=archive, run_id=run) as gw:
        ReEvo(black, GatewayChat(gw), GatewayChat(gw)).short_term_reflection(a, b)
        ReEvo(white, GatewayChat(gw), GatewayChat(gw)).short_term_reflection(a, b)
    users = [json.loads(c.request)["messages"][1]["content"] for c in archive.llm_calls(run)]
    assert [u.split()[0] for u in users] == ["BLACK", "WHITE"]
    plain = write_problem(tmp_path / "plain")  # dgm's layout: dgm's own black-box text
    prompts = prompts_for(dataclasses.replace(load(plain), black_box=True))
    assert "black-box objective" in prompts["user_reflector_st"]
    assert "black-box" not in prompts_for(load(plain))["user_reflector_st"]


def write_problem(root: Path) -> Path:
    """A problem in dgm's layout: return the biggest number."""
    root.mkdir()
    (root / "problem.yaml").write_text(PROBLEM_YAML)
    (root / "program.py").write_text(PROGRAM)
    (root / "evaluator.py").write_text(EVALUATOR)
    return root


PROBLEM_YAML = """name: constant
description: Return a number; the bigger the better.
program: [program.py]
evaluator: {module: evaluator.py}
score: value
direction: max
timeout_s: 30
func_name: solve
"""
PROGRAM = "def solve():\n    return 0.0\n"
EVALUATOR = """import importlib.util


def evaluate(path):
    spec = importlib.util.spec_from_file_location("candidate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {"value": float(module.solve())}
"""


def answer(value: int) -> str:
    return f"```python\ndef solve_v2():\n    return {value}.0\n```"


@pytest.mark.bwrap
@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_a_default_reevo_run_makes_106_evaluations(tmp_path: Path) -> None:
    """ReEvo's defaults (max_fe 100, init_pop_size 30, pop_size 10, mutation_rate 0.5) through
    the real CLI, a scripted model behind the real gateway, every program scored in the
    local sandbox: the seed, 30 initial programs and 5 whole generations of 15 children."""
    problem = write_problem(tmp_path / "constant")
    script = [
        {"pattern": "In under 20 words", "content": "Return bigger numbers."},
        {"pattern": "long-term reflection so far", "content": "Bigger numbers score more."},
        *(answer(v) for v in range(1, 106)),  # every program scores differently
    ]
    (tmp_path / "script.yaml").write_text(yaml.safe_dump(script, sort_keys=False))
    overrides = {"model": f"scripted:{tmp_path / 'script.yaml'}", "sandbox": "local"}
    archive = run_reevo(tmp_path, problem, overrides, timeout=1100)
    (run,) = archive.runs()
    assert archive.run(run.id).status == "finished"
    agents = archive.agents(run.id)
    assert not archive.events(run.id, kinds=["expansion_failed"])
    assert len(agents) == 106, "the seed, 30 initial programs, 5 generations of 10 + 5"
    evaluated = [a for a in agents if archive.evaluations(a.id)]
    assert len(evaluated) == 106
    kinds = Counter(
        (o.get("generation"), o.get("kind"))
        for o in (archive.agent(a.id).origin or {} for a in agents if a.parent_id)
    )
    assert kinds == {
        (0, "initial"): 30,
        **{(g, "crossover"): 10 for g in range(1, 6)},
        **{(g, "mutation"): 5 for g in range(1, 6)},
    }
    assert len(archive.reflections(run.id, kind="long")) == 5
    purposes = Counter(c.purpose for c in archive.llm_calls(run.id, bodies=False))
    assert purposes == {
        "initial": 30,
        "reflect_short": 50,
        "crossover": 50,
        "reflect_long": 5,
        "mutate": 25,
    }


PRESET = Path(__file__).resolve().parents[2] / "dgm" / "presets" / "reevo.yaml"


def run_reevo(tmp_path: Path, problem: Path, overrides: dict[str, Any], timeout: float) -> Archive:
    """`dgm run` of the reevo preset, `overrides` over it, on `problem`; the archive."""
    config = {**yaml.safe_load(PRESET.read_text()), **overrides}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        [str(DGM), "run", str(tmp_path / "run.yaml"), "--problem", str(problem), "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"},  # none needed
    )
    assert proc.returncode == 0, proc.stderr
    return open_archive(tmp_path / ".dgm" / "archive.db", create=False)


def coder(request: dict[str, Any], index: int, counter: itertools.count[int]) -> str:
    """The fake hosted model: hints for reflections, a new number for code."""
    text = request["messages"][-1]["content"]
    if "In under 20 words" in text:
        return "Return bigger numbers."
    if "long-term reflection so far" in text:
        return "Bigger numbers score more."
    return answer(next(counter))


@pytest.mark.bwrap
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_samples_of_one_prompt_come_from_one_call_with_n(tmp_path: Path) -> None:
    """ReEvo asks a model that takes `n` for a phase's samples in one call
    (utils/llm_client/base.py:72-79): the initial population and a generation's mutations.
    Through the real CLI and gateway to a hosted model's stand-in (an OpenAI-protocol HTTP
    server) via litellm: the server sees one request with n for each, the archive records
    one call holding n choices, and each child is one of them."""
    problem = write_problem(tmp_path / "constant")
    counter = itertools.count(1)
    settings = {"init_pop_size": 4, "pop_size": 2, "mutation_rate": 1.0, "reflector_model": None}
    with FakeUpstream(reply=lambda _path, request, i: coder(request, i, counter)) as up:
        overrides = {"model": "openai/fake", "api_base": up.base_url, "sandbox": "local"}
        archive = run_reevo(tmp_path, problem, {**overrides, "max_fe": 8, "reevo": settings}, 500)
        requests = [r["body"] for r in up.requests]
    # 4 initial samples, then one generation: 2 crossovers, 2 mutations of the elite.
    assert [r.get("n") for r in requests if r.get("n")] == [4, 2]
    assert len(requests) == 1 + 2 + 2 + 1 + 1
    (run,) = archive.runs()
    calls = archive.llm_calls(run.id)
    assert Counter(c.purpose for c in calls) == {
        "initial": 1,
        "reflect_short": 2,
        "crossover": 2,
        "reflect_long": 1,
        "mutate": 1,
    }
    (initial,) = [c for c in calls if c.purpose == "initial"]
    choices = [c["message"]["content"] for c in json.loads(initial.response)["choices"]]
    assert len(choices) == 4 and json.loads(initial.request)["n"] == 4
    agents = archive.agents(run.id)
    assert len(agents) == 9 and all(archive.evaluations(a.id) for a in agents)
    origins = {a.id: archive.agent(a.id).origin or {} for a in agents}
    firsts = [a for a in agents if origins[a.id].get("kind") == "initial"]
    made = [b"".join(archive.agent_files(a.id).values()).decode() for a in firsts]
    assert [re.findall(r"return (\d+)\.0", c) for c in made] == [
        re.findall(r"return (\d+)\.0", c) for c in choices
    ], "each initial program is one choice of the one call, in order"
    mutations = [a for a in agents if origins[a.id].get("kind") == "mutation"]
    assert len(mutations) == 2 and len({m.parent_id for m in mutations}) == 1


def test_a_phase_asks_once_for_its_samples_still_to_make() -> None:
    """One call with `n` for the phase's iterations from the first that needs one; a resumed
    run (a new operator, nothing in memory) asks again for those it has not made. A model
    that takes no `n` gets one call per sample. On the wire, through the real gateway."""
    schedule = ReEvoSchedule(init_pop_size=4, pop_size=2, mutation_rate=1.0)
    messages = [{"role": "user", "content": "write code"}]

    def operator() -> ReEvoOperator:
        op = ReEvoOperator.__new__(ReEvoOperator)
        op.plan, op._batches, op._batching = schedule, {}, threading.Lock()
        return op

    with (
        FakeUpstream(reply=lambda _path, _request, i: f"sample {i}") as up,
        Gateway(LiteLLMProvider("openai/fake", api_base=up.base_url)) as gw,
    ):
        chat, phase = GatewayChat(gw), schedule.phase(1)
        first, resumed = operator(), operator()
        answers = [first.sample(phase, i, chat, messages, None) for i in (1, 2)]
        answers += [resumed.sample(phase, i, chat, messages, None) for i in (3, 4)]
        asked = [r["body"].get("n") for r in up.requests]
    assert answers == ["sample 0", "sample 1", "sample 0", "sample 1"]
    assert asked == [4, 2]
    scripted = ScriptedProvider([ScriptedEntry(content=f"one {i}") for i in range(2)])
    with Gateway(scripted) as gw:
        chat = GatewayChat(gw)
        assert [operator().sample(phase, i, chat, messages, None) for i in (1, 2)] == [
            "one 0",
            "one 1",
        ]
        assert gw.usage().calls == 2
    assert not LiteLLMProvider("anthropic/claude-3-5-haiku-latest").takes_n

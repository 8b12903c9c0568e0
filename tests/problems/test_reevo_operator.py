"""ReEvo's operator pieces through the real gateway with a scripted model, and a crossover
child scored in the sandbox."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from archive import open_archive
from benchmarks.problems import load
from dgm.llm.gateway import Gateway
from dgm.llm.scripted import ScriptedEntry, ScriptedProvider
from dgm.mutators import EvalView, MutationContext, Parent
from dgm.mutators.chat import GatewayChat
from dgm.mutators.reevo import (
    Individual,
    ReEvo,
    ReEvoOperator,
    ReEvoSchedule,
    filter_code,
    select_pair,
    signature_template,
    worse_better,
)
from tests.problems.conftest import Score
from tests.problems.layouts import OE_PROGRAM, write_openevolve, write_reevo

NEAREST = (
    "def select_next_node(current_node, destination_node, unvisited_nodes, distance_matrix):\n"
    "    return min(unvisited_nodes, key=lambda n: distance_matrix[current_node][n])\n"
)
FARTHEST = NEAREST.replace("min(", "max(")
CROSSED = (
    "Here it is:\n```python\n"
    "def select_next_node_v2(current_node, destination_node, unvisited_nodes, distance_matrix):\n"
    "    near = sorted(unvisited_nodes, key=lambda n: distance_matrix[current_node][n])[:3]\n"
    "    return min(near, key=lambda n: distance_matrix[current_node][n] + 0.1 * distance_matrix[n][destination_node])\n"
    "```\n"
)


def test_select_pair_needs_different_objectives() -> None:
    rng = random.Random(3)
    same = [Individual("a", "x", 1.0), Individual("b", "y", 1.0)]
    assert select_pair(same, rng) is None and select_pair(same[:1], rng) is None
    pop = [*same, Individual("c", "z", 2.0)]
    for _ in range(20):
        pair = select_pair(pop, rng)
        assert pair is not None and pair[0].score != pair[1].score
    a, b = Individual("a", "", 1.0), Individual("b", "", 2.0)
    assert worse_better(a, b, "min") == (b, a) and worse_better(a, b, "max") == (a, b)


def test_signature_template_and_filter_code() -> None:
    assert signature_template(NEAREST, "select_next_node") == (
        "def select_next_node_v{version}(current_node, destination_node, unvisited_nodes, distance_matrix):"
    )
    assert (
        filter_code("import numpy as np\ndef f(x):\n    y = x\n    return y\n")
        == "    y = x\n    return y\n"
    )


@pytest.mark.docker
def test_reflect_crossover_mutate_through_the_gateway(tmp_path: Path, score: Score) -> None:
    tsp = load("tsp")
    archive = open_archive(tmp_path / "a.db")
    run = archive.create_run("reevo-operator")
    answers = [
        "Prefer near nodes.",
        CROSSED,
        "Near nodes first; look ahead to the start.",
        "no code at all, sorry",
    ]
    provider = ScriptedProvider([ScriptedEntry(content=a) for a in answers])
    with Gateway(provider, archive=archive, run_id=run) as gw:
        chat = GatewayChat(gw)
        op = ReEvo(tsp, generator=chat, reflector=chat)
        near = Individual("near", NEAREST, score(tsp, {tsp.main_file: NEAREST}).score or 0.0)
        far = Individual("far", FARTHEST, score(tsp, {tsp.main_file: FARTHEST}).score or 0.0)
        hint, worse, better = op.short_term_reflection(far, near)
        assert (hint, worse.id, better.id) == ("Prefer near nodes.", "far", "near")
        child = op.crossover(worse, better, hint)
        long_term = op.long_term_reflection("", [hint])
        failed = op.mutate(better, long_term)
    assert child.code is not None and child.origin == {
        "operator": "reevo",
        "kind": "crossover",
        "parents": ["near", "far"],
        "reflection": "Prefer near nodes.",
    }
    assert (
        "select_next_node = select_next_node_v2" in child.code
    )  # dgm's evaluator calls the plain name
    scored = score(tsp, {tsp.main_file: child.code})
    assert scored.ok and scored.better_than(score(tsp, {tsp.main_file: FARTHEST}))
    assert failed.code is None and failed.reason and "no code" in failed.reason
    assert failed.origin["reflection"] == "Near nodes first; look ahead to the start."
    calls = [(c.purpose, json.loads(c.request)["messages"]) for c in archive.llm_calls(run)]
    assert [p for p, _ in calls] == ["reflect_short", "crossover", "reflect_long", "mutate"]
    st_user = calls[0][1][1]["content"]
    assert st_user.index("max(unvisited_nodes") < st_user.index(
        "min(unvisited_nodes"
    )  # worse first, then better
    assert (
        "Prefer near nodes." in calls[1][1][1]["content"]
        and "def select_next_node_v0(" in calls[1][1][1]["content"]
    )
    assert "Prefer near nodes." in calls[2][1][1]["content"]
    assert calls[3][1][1]["content"].count("Near nodes first; look ahead to the start.") == 1


def test_reevo_checkout_prompts_are_used(tmp_path: Path) -> None:
    problem_dir = write_reevo(tmp_path / "reevo")
    common = tmp_path / "reevo" / "prompts" / "common"
    (common / "mutation.txt").write_text("MUTATE {func_name}: {reflection} | {elitist_code}")
    (common / "system_generator.txt").write_text("GEN SYSTEM")
    (common / "seed.txt").write_text("SEED {seed_func} FOR {func_name}_v2")
    subprocess.run([sys.executable, "gen_inst.py"], cwd=problem_dir, check=True)
    p = load(problem_dir)
    archive = open_archive(tmp_path / "a.db")
    run = archive.create_run("reevo-prompts")
    answer = (
        "```python\ndef pick_next_v2(current, unvisited, dist):\n    return min(unvisited)\n```"
    )
    provider = ScriptedProvider([ScriptedEntry(content=answer), ScriptedEntry(content=answer)])
    with Gateway(provider, archive=archive, run_id=run) as gw:
        op = ReEvo(p, GatewayChat(gw), GatewayChat(gw))
        child = op.mutate(Individual("s", p.seed()[p.main_file], 5.0), "LT. ")
        first = op.initial(p.prompts["seed_func"])
    calls = archive.llm_calls(run)
    seed_user = json.loads(calls[1].request)["messages"][1]["content"]
    assert seed_user.startswith("Write a pick_next function for Visit points greedily")
    assert "SEED def pick_next_v1(" in seed_user and seed_user.endswith(
        "FOR pick_next_v2\nNearby points first."
    )
    assert first.origin == {"operator": "reevo", "kind": "initial", "parents": []} and first.code
    messages = json.loads(calls[0].request)["messages"]
    assert messages[0]["content"] == "GEN SYSTEM"
    assert messages[1]["content"].startswith(
        "MUTATE pick_next: LT. Nearby points first. | "
    )  # + external knowledge
    assert (
        child.code is not None and "pick_next = pick_next_v2" not in child.code
    )  # ReEvo's eval.py imports _v2


def test_the_schedule_numbers_reevo_generations_by_iteration() -> None:
    plan = ReEvoSchedule(init_pop_size=3, pop_size=2, mutation_rate=0.5)
    phases = [plan.phase(i) for i in range(1, 13)]
    assert [(p.kind[0], p.generation, p.start) for p in phases] == [
        ("i", 0, 1), ("i", 0, 1), ("i", 0, 1),
        ("c", 1, 4), ("c", 1, 4), ("m", 1, 6),
        ("c", 2, 7), ("c", 2, 7), ("m", 2, 9),
        ("c", 3, 10), ("c", 3, 10), ("m", 3, 12),
    ]  # fmt: skip
    assert plan.population_iterations(1) == range(1, 4)
    assert plan.population_iterations(3) == range(7, 10)
    assert ReEvoSchedule(30, 10, 0.5).mutations == 5 and ReEvoSchedule(3, 1, 0.5).mutations == 1


@dataclass
class Stat:
    agent_id: str
    parent_id: str | None
    status: str = "evaluated"
    score: float | None = None
    n_children: int = 0
    n_resolved: int = 1
    n_evaluated: int = 1


class Origins:
    """The one archive read the schedule makes: which iteration made an agent."""

    def __init__(self, iterations: dict[str, int]) -> None:
        self.iterations = iterations

    def agent(self, agent_id: str) -> SimpleNamespace:
        return SimpleNamespace(origin={"iteration": self.iterations[agent_id]})


def test_parents_follow_reevo_the_seed_pairs_of_the_population_and_the_elite() -> None:
    iterations = {"seed": 0, "i1": 1, "i2": 2, "i3": 3, "c4": 4, "c5": 5, "m6": 6}
    stats = [
        Stat("seed", None, score=0.5),
        Stat("i1", "seed", score=0.0),
        Stat("i2", "seed", score=1.0),  # the elite
        Stat("i3", "seed", status="failed"),
        Stat("c4", "i2", score=0.25),
        Stat("c5", "i2", score=0.25),
        Stat("m6", "i2", status="pending"),
    ]
    plan = ReEvoSchedule(init_pop_size=3, pop_size=2, mutation_rate=0.5)
    op = ReEvoOperator.__new__(ReEvoOperator)  # only the schedule's part: no models needed
    op.plan, op.archive, op._iterations = plan, Origins(iterations), {}
    op.black_box = False
    assert op.parents(2, stats, random.Random(0)) == ["seed"]
    assert op.barrier(4) and op.barrier(6) and op.barrier(7) and not op.barrier(5)
    assert not op.barrier(2)
    pairs = {tuple(op.parents(4, stats, random.Random(s))) for s in range(40)}
    assert pairs == {("i2", "i1")}, "generation 1: the valid initial programs, better first"
    assert op.parents(6, stats, random.Random(0)) == ["i2"]  # mutation: the elite
    pairs = {tuple(op.parents(7, stats, random.Random(s))) for s in range(40)}
    # generation 2: generation 1's children plus the elite; c4 and c5 tie, so never together
    assert pairs == {("i2", "c4"), ("i2", "c5")}
    alone = [stats[0], Stat("i1", "seed", status="failed")]
    assert op.parents(4, alone, random.Random(0)) == (
        "selection failed: no two valid programs with different objectives"
    )


def test_an_evolve_block_program_keeps_what_is_outside_its_block(tmp_path: Path) -> None:
    """OpenEvolve's layout: ReEvo sees and rewrites the EVOLVE-BLOCK, nothing else."""
    problem = load(write_openevolve(tmp_path / "oe"))
    archive = open_archive(tmp_path / "a.db")
    run = archive.create_run("reevo-blocks")
    new = "def search_algorithm(iterations=200, bounds=(-5, 5)):\n    return 0.0, 0.0, 0.0\n"
    provider = ScriptedProvider([ScriptedEntry(content=f"```python\n{new}```")])
    seed = {k: v.encode() for k, v in problem.seed().items()}
    with Gateway(provider, archive=archive, run_id=run) as gw:
        chat = GatewayChat(gw)
        op = ReEvoOperator(
            problem, archive, run, ReEvoSchedule(2, 2, 0.5), chat, chat, init_generator=chat
        )
        parent = Parent("seed", seed, [EvalView("p", True, score=0.5)])
        ctx = MutationContext([parent], {}, chat, random.Random(0), iteration=1)
        mutation = op.mutate(ctx)
    assert mutation.files is not None and mutation.origin["kind"] == "initial"
    child = mutation.files[problem.main_file].decode()
    _, after = OE_PROGRAM.split("# EVOLVE-BLOCK-END")
    assert child.startswith("# EVOLVE-BLOCK-START\n" + new)
    assert child.endswith("# EVOLVE-BLOCK-END" + after)  # evaluate_function, run_search kept
    prompt = json.loads(archive.llm_calls(run)[0].request)["messages"][1]["content"]
    assert "def search_algorithm" in prompt and "def evaluate_function" not in prompt

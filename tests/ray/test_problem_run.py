"""`dgm run --problem tsp_constructive --executor ray` on the real cluster of
tests/ray/conftest.py: each program is scored by the shipped TSP evaluator in a Docker
sandbox of the problem's image (numpy layer) on a worker node; the diff operator's LLM
calls (a scripted model) stay in the driver.

The seed is nearest-neighbour; every child heads away from the start first, a better
heuristic, so the scores say the evaluations really ran."""

from __future__ import annotations

import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from archive import open_archive
from dgm.executors.cluster_state import ClusterState
from tests.engine.test_cli_run import DGM, block

pytestmark = [pytest.mark.ray, pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(240)]

NEAREST = "return min(unvisited_nodes, key=lambda node: distance_matrix[current_node][node])"
AWAY = (
    "return min(unvisited_nodes, key=lambda node: distance_matrix[current_node][node]"
    " - 0.3 * distance_matrix[node][destination_node])"
)
CHILDREN = 4
# The diff operator's prompt for a problem's program (dgm/mutators/diff.py)
PROGRAM_PROMPT = re.escape("Change the program's code so that its score gets better")


def write_setup(tmp: Path, operator: str = "diff") -> Path:
    script = tmp / "script.yaml"
    answer = block("problem/heuristic.py", f"    {NEAREST}", f"    {AWAY}")
    script.write_text(yaml.safe_dump([{"pattern": PROGRAM_PROMPT, "content": answer}]))
    config = tmp / "run.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model": f"scripted:{script}",
                "operator": operator,
                "selector": "best",
                "max_iterations": CHILDREN,
                "workers": CHILDREN,  # the children's evaluations at once: 4 slots, 2 nodes
                "seed": 5,
                # Every child is the same edit, and each must be evaluated once on the
                # cluster: the duplicate check would evaluate only the first.
                "novelty": {"duplicates": False},
            }
        )
    )
    return config


def dgm_run(config: Path, cluster: ClusterState, *extra: str) -> list[str]:
    return [
        *(str(DGM), "run", str(config), "--problem", "tsp_constructive", "--quiet"),
        *("--executor", "ray", "--ray-address", cluster.address, *extra),
    ]


def test_problem_evaluations_run_on_the_worker_nodes(
    ray_cluster: ClusterState, tmp_path: Path
) -> None:
    proc = subprocess.run(
        dgm_run(write_setup(tmp_path), ray_cluster), cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    archive = open_archive(tmp_path / ".dgm" / "archive.db", create=False)
    (run,) = archive.runs()
    assert archive.run(run.id).status == "finished"
    seed, *children = archive.agents(run.id)
    assert len(children) == CHILDREN and all(c.parent_id == seed.id for c in children)
    evals = {a.id: archive.evaluations(a.id) for a in [seed, *children]}
    assert all(len(e) == 1 for e in evals.values()), "each program is evaluated exactly once"
    nodes = [e.node for (e,) in evals.values()]
    assert set(nodes) == set(ray_cluster.workers), "both workers, never the head or the driver"
    (seed_eval,) = evals[seed.id]
    assert seed_eval.resolved and seed_eval.metrics["instances"] == 64.0
    for child in children:
        (e,) = evals[child.id]
        assert e.resolved and e.score is not None and seed_eval.score is not None
        assert e.score < seed_eval.score - 0.1, "the child's tours are shorter: really scored"
    assert archive.evaluation_nodes(run.id) == {n: nodes.count(n) for n in set(nodes)}


def test_stop_is_refused_on_a_cluster_in_one_line(
    ray_cluster: ClusterState, tmp_path: Path
) -> None:
    proc = subprocess.run(
        dgm_run(write_setup(tmp_path, operator="stop"), ray_cluster),
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert re.search(r"--operator stop .* run stop with --executor local", proc.stderr)
    assert (
        not (tmp_path / ".dgm" / "archive.db").exists()
        or not open_archive(tmp_path / ".dgm" / "archive.db", create=False).runs()
    ), "refused before a run is created"


def test_a_problem_evaluation_in_flight_names_its_node(
    ray_cluster: ClusterState, tmp_path: Path
) -> None:
    """What the live display asks (`where`) while a program is scored on a node; then the
    evaluation is recorded once, with that node."""
    from benchmarks.problems import load
    from dgm.executors import ExecutorSpec
    from dgm.executors.problem import ProblemEvaluator
    from dgm.executors.ray_executor import RayExecutor

    archive = open_archive(tmp_path / "archive.db")
    run_id = archive.create_run("tsp", direction="min")
    problem = load("tsp_constructive")
    agent = archive.add_agent(run_id, {k: v.encode() for k, v in problem.seed().items()})
    files = {k: v.encode() for k, v in problem.seed().items()}
    with RayExecutor(ExecutorSpec("ray", ray_cluster.address, run_label=run_id)) as executor:
        evaluator = ProblemEvaluator(executor, archive, problem, "docker", run_id)
        seen: list[str | None] = []
        with ThreadPoolExecutor(1) as pool:
            outcome = pool.submit(evaluator.evaluate, agent, files, problem.name, "problem")
            while not outcome.done():
                seen.append(evaluator.where(agent, problem.name))
                time.sleep(0.05)
        assert outcome.result().resolved
    (evaluation,) = archive.evaluations(agent)
    assert evaluation.node in ray_cluster.workers
    assert evaluation.node in seen, "the display saw the node while the program was scored"
    assert evaluator.where(agent, problem.name) is None, "nothing in flight any more"

"""`dgm run reevo --problem tsp` end to end: the real CLI, the real gateway serving a scripted
model, every candidate scored by the shipped TSP evaluator in the real Docker sandbox.

The script answers by prompt: the initial population gets four programs in turn (two
worse than the seed, one slightly better, one that crashes); every crossover answers a
heuristic that heads away from the start first (better than nearest-neighbour), and every
mutation a stronger version of it. So the run must really find a heuristic better than
the seed, through two-parent children, with the reflections on record.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import yaml

from archive import Archive, open_archive
from archive.info import objective
from tests.processes import Deadline, dgm_process, run_dgm, wait_for_archive

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(600)]

SIGNATURE = (
    "def select_next_node_v2(current_node, destination_node, unvisited_nodes, distance_matrix):"
)


def program(body: str) -> str:
    return f"```python\n{SIGNATURE}\n    {body}\n```"


def away(weight: float) -> str:
    """Nearest node, discounted by its distance from the start: far nodes first."""
    return program(
        "return min(unvisited_nodes, key=lambda n: distance_matrix[current_node][n]"
        f" - {weight} * distance_matrix[n][destination_node])"
    )


SHORT = "Prefer nodes far from the start first; come back along the near ones."
LONG = "Visit far nodes early and the nodes close to the start last."
SCRIPT = [
    {"pattern": "In under 20 words", "content": SHORT},  # short-term reflection
    {"pattern": "long-term reflection so far", "content": LONG},
    {"pattern": r"\[Reflection\]", "content": away(0.3)},  # crossover
    {"pattern": r"\[Prior reflection\]", "content": away(0.5)},  # elitist mutation
    # The initial population, one answer each, in order.
    program("return max(unvisited_nodes, key=lambda n: distance_matrix[current_node][n])"),
    away(0.1),
    program("return min(unvisited_nodes)"),
    program('raise ValueError("boom")'),
]


def write_setup(
    tmp: Path, max_fe: int, workers: int, init_pop_size: int, reflector: bool = False
) -> Path:
    """The run's config; with `reflector`, the reflections come from a second model."""
    script = tmp / "script.yaml"
    script.write_text(yaml.safe_dump(SCRIPT, sort_keys=False))
    reflector_model = None
    if reflector:
        (tmp / "reflector.yaml").write_text(yaml.safe_dump(SCRIPT[:2], sort_keys=False))
        script.write_text(yaml.safe_dump(SCRIPT[2:], sort_keys=False))
        reflector_model = f"scripted:{tmp / 'reflector.yaml'}"
    config = tmp / "run.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "operator": "reevo",
                "selector": "random",
                "model": f"scripted:{script}",
                "max_fe": max_fe,
                "max_iterations": 1000,
                "workers": workers,
                "seed": 1,
                "reevo": {
                    "init_pop_size": init_pop_size,
                    "pop_size": 2,
                    "mutation_rate": 0.5,
                    "reflector_model": reflector_model,
                },
            }
        )
    )
    return config


def expansions(archive: Archive, run_id: str) -> int:
    """Children made plus expansions that failed: one function evaluation each."""
    children = sum(1 for a in archive.agents(run_id) if a.parent_id is not None)
    return children + len(archive.events(run_id, kinds=["expansion_failed"]))


def test_reevo_finds_a_better_tsp_heuristic_by_reflective_crossover(tmp_path: Path) -> None:
    config = write_setup(tmp_path, max_fe=11, workers=2, init_pop_size=4, reflector=True)
    proc = run_dgm("run", str(config), "--problem", "tsp", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    archive = open_archive(tmp_path / ".dgm" / "archive.db", create=False)
    (run,) = archive.runs()
    info = archive.run(run.id)
    assert info.status == "finished" and info.direction == "min"
    agents = archive.agents(run.id)
    seed = agents[0]
    assert expansions(archive, run.id) == 10, "max_fe counts the seed and every child"
    by_id = {a.id: a for a in agents}
    origins = {a.id: archive.agent(a.id).origin or {} for a in agents}

    # A better heuristic than the seed (nearest neighbour), found by the run.
    best = archive.best_agent(run.id)
    assert best is not None and best.id != seed.id
    seed_len, best_len = objective(seed.score, "min"), objective(best.score, "min")
    assert seed_len is not None and best_len is not None and best_len < seed_len - 0.3
    assert origins[best.id]["kind"] in ("crossover", "mutation")

    # The initial population: children of the seed; the crashing one failed with its reason.
    initial = [a for a in agents if origins[a.id].get("kind") == "initial"]
    assert len(initial) == 4 and all(a.parent_id == seed.id for a in initial)
    (crashed,) = [a for a in initial if a.status == "failed"]
    (evaluation,) = archive.evaluations(crashed.id)
    assert evaluation.error_kind == "problem_failed" and b"boom" in evaluation.logs
    valid = [a for a in initial if a.status == "evaluated"]
    assert len(valid) == 3
    assert archive.evaluations(valid[0].id)[0].metrics["instances"] == 64.0

    # Crossovers: two parents with different objectives, both recorded, the better first.
    crossovers = [a for a in agents if origins[a.id].get("kind") == "crossover"]
    assert len(crossovers) == 4
    shorts = {r.iteration: r for r in archive.reflections(run.id, kind="short")}
    for child in crossovers:
        o = origins[child.id]
        parent, second = by_id[child.parent_id or ""], by_id[child.second_parent_id or ""]
        assert o["parents"] == [parent.id, second.id] and parent.score != second.score
        assert (parent.score or 0) > (second.score or 0)  # fitness: the better one leads
        assert o["reflection"] == SHORT
        assert shorts[o["iteration"]].agents == [second.id, parent.id]  # worse, better
        assert crashed.id not in (parent.id, second.id)  # only valid programs are parents

    # Long-term reflection: one per generation, the second built on the first.
    longs = archive.reflections(run.id, kind="long")
    assert [(r.generation, r.text) for r in longs] == [(1, LONG), (2, LONG)]
    calls = [c for c in archive.llm_calls(run.id) if c.purpose == "reflect_long"]
    assert len(calls) == 2
    second_prompt = json.loads(calls[1].request)["messages"][1]["content"]
    assert LONG in second_prompt and SHORT in second_prompt
    # Elitist mutation: of the best program so far, guided by the long-term reflection.
    mutations = [a for a in agents if origins[a.id].get("kind") == "mutation"]
    assert len(mutations) == 2
    for m in mutations:
        assert origins[m.id]["reflection"] == LONG and m.second_parent_id is None
        before = [a for a in agents if a.created_at < m.created_at and a.status == "evaluated"]
        assert by_id[m.parent_id or ""].score == max(a.score or 0 for a in before)

    # Generator and reflector are different models, each call on record with its own.
    models = {(c.purpose, c.model) for c in archive.llm_calls(run.id, bodies=False)}
    assert models == {
        ("initial", "scripted:script.yaml"),
        ("crossover", "scripted:script.yaml"),
        ("mutate", "scripted:script.yaml"),
        ("reflect_short", "scripted:reflector.yaml"),
        ("reflect_long", "scripted:reflector.yaml"),
    }

    # What people read: the archive's show and the report name the reflections.
    shown = run_dgm("archive", "show", crossovers[0].id, cwd=tmp_path)
    assert shown.returncode == 0 and "short-term reflection" in shown.stdout
    assert SHORT in " ".join(shown.stdout.split()) and "(min)" in shown.stdout
    report = run_dgm("report", run.id, "--out", str(tmp_path / "report"), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    text = (tmp_path / "report" / "report.md").read_text()
    assert "## Reflections" in text and "**long-term** (guides the mutation of `" in text
    assert f"best: `{best.id}` score {best_len:.3f}" in text and "scores: min" in text
    listed = json.loads(run_dgm("archive", "list", run.id, "--json", cwd=tmp_path).stdout)
    assert {a["id"]: a["objective"] for a in listed}[best.id] == pytest.approx(best_len)


def long_term_reflection(archive: Archive) -> bool:
    """Generation 1 was reflected on: its mutation is under way."""
    runs = archive.runs()
    return bool(runs and archive.reflections(runs[0].id, kind="long"))


def test_kill_9_then_resume_keeps_the_long_term_reflection_and_loses_nothing(
    tmp_path: Path, deadline: Deadline
) -> None:
    config = write_setup(tmp_path, max_fe=13, workers=1, init_pop_size=3)
    db = tmp_path / ".dgm" / "archive.db"
    args = ["run", str(config), "--problem", "tsp", "--quiet"]
    with dgm_process(args, tmp_path) as proc:
        wait_for_archive(db, long_term_reflection, "a long-term reflection", proc, deadline)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    archive = open_archive(db, create=False)
    (run,) = archive.runs()
    assert archive.run(run.id).status == "running"  # killed: nobody said otherwise
    (long_before,) = archive.reflections(run.id, kind="long")
    shorts_before = archive.reflections(run.id, kind="short")
    before = {
        (a.id, e.seq): (e.score, e.resolved)
        for a in archive.agents(run.id)
        for e in archive.evaluations(a.id)
    }
    assert expansions(archive, run.id) < 12, "killed mid-run"

    resumed = run_dgm("run", "--resume", run.id[:6], "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert archive.run(run.id).status == "finished"
    after = {
        (a.id, e.seq): (e.score, e.resolved)
        for a in archive.agents(run.id)
        for e in archive.evaluations(a.id)
    }
    assert {k: after[k] for k in before} == before, "nothing evaluated is lost"
    assert all(seq == 1 for _, seq in after), "nothing is evaluated twice"
    assert expansions(archive, run.id) == 12, "the budget is max_fe, across sessions"
    longs = archive.reflections(run.id, kind="long")
    assert longs[0] == long_before, "the long-term reflection is read back, not made again"
    assert [r.generation for r in longs] == [1, 2, 3]
    kept = {r.iteration: r for r in archive.reflections(run.id, kind="short")}
    assert all(kept[r.iteration].agents == r.agents for r in shorts_before)
    sessions = archive.events(run.id, kinds=["session_started"])
    assert [s.payload["resumed"] for s in sessions] == [False, True]
    best = archive.best_agent(run.id)
    seed = archive.agents(run.id)[0]
    assert best is not None and (best.score or 0) > (seed.score or 0)


@pytest.mark.local_model
@pytest.mark.timeout(1800)
def test_a_short_reevo_run_with_the_bundled_model_completes(tmp_path: Path) -> None:
    """Whatever it scores: SmolLM2-135M rarely writes a valid heuristic."""
    proc = run_dgm(
        *("run", "reevo", "--problem", "tsp", "--model", "local"),
        *("--max-fe", "4", "--set", "reevo.init_pop_size=3"),
        cwd=tmp_path,
        timeout=1700,
    )
    assert proc.returncode == 0, proc.stderr
    archive = open_archive(tmp_path / ".dgm" / "archive.db", create=False)
    (run,) = archive.runs()
    assert archive.run(run.id).status == "finished"
    seed = archive.agents(run.id)[0]
    assert seed.status == "evaluated" and archive.evaluations(seed.id)[0].resolved
    assert expansions(archive, run.id) == 3  # the seed, three samples of it: max_fe 4 reached
    calls = archive.llm_calls(run.id, bodies=False)
    assert [c.purpose for c in calls] == ["initial"] * 3 and all(c.model == "local" for c in calls)

"""benchmarks/perf/search_efficiency: its landscape model, its measure, its JSON line, and
that it drives the engine's own policy code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks.perf import draw_landscapes
from benchmarks.perf import search_efficiency as se
from dgm import hgm, race, selectors

TINY: dict[str, Any] = {
    "name": "tiny",
    "tasks": 20,
    "difficulty_sd": 1.0,
    "seed_skill": 0.3,
    "edits": [
        {"kind": "harmful", "weight": 0.5, "shift": -0.5, "spread": 0.2},
        {"kind": "helpful", "weight": 0.5, "shift": 0.5, "spread": 0.2},
    ],
    "noise": 0.05,
    "target": 0.4,
    "budget": 150,
}


def landscape(**kw: Any) -> se.Landscape:
    return se.Landscape.model_validate({**TINY, **kw})


def test_the_seed_has_the_stated_skill_and_edits_move_every_task() -> None:
    land = landscape(edits=[{"kind": "up", "weight": 1, "shift": 1.0, "spread": 0.0}])
    first = se.seed_logits(land, np.random.default_rng(3))
    assert se.sigmoid(first).mean() == pytest.approx(0.3, abs=1e-9)
    world = se.World(land, np.random.default_rng(0))
    assert world.child(first) - first == pytest.approx(np.ones(20))


def test_noise_makes_outcomes_coins() -> None:
    world = se.World(landscape(noise=1.0), np.random.default_rng(0))
    assert world.outcomes(np.ones(20000)).mean() == pytest.approx(0.5, abs=0.02)
    assert np.mean([world.outcome(1.0) for _ in range(4000)]) == pytest.approx(0.5, abs=0.04)
    exact = se.World(landscape(noise=0.0), np.random.default_rng(0))
    assert exact.outcomes(np.ones(100)).all() and not exact.outcomes(np.zeros(100)).any()


def test_the_target_counts_only_once_it_holds() -> None:
    land = landscape(target=0.5, budget=10)
    trace = se.Trace()
    trace.returned(3, 0.6, land)  # reached...
    trace.returned(5, 0.4, land)  # ...but the answer fell back
    assert trace.evals_to_target is None
    trace.returned(8, 0.55, land)
    trace.returned(12, 0.7, land)  # after the budget: skill_at_budget keeps the last within
    assert trace.evals_to_target == 8 and trace.skill_at_budget == 0.55


def test_dgm_stages_are_the_paper_presets_10_then_50() -> None:
    assert se.dgm_stages()[1:] == [0.4]  # dgm-paper: 10 and 60 tasks, gated at 40%
    assert se.stage_bounds(225, 2) == [10, 60]  # DGM never runs a third stage
    assert se.stage_bounds(225, 3) == [10, 60, 225]  # a preset with a full stage would
    assert se.stage_bounds(60, 2) == [10, 60]
    assert se.stage_bounds(8, 2) == [8]
    assert se.dgm_seed_every_stage()  # DGM's seed is scored on all 60 tasks, ungated


def test_dgms_seed_runs_every_stage_whatever_its_score() -> None:
    # A seed far below the 40% gate: ungated it still runs 60 tasks; gated, 10.
    land = landscape(tasks=100, seed_skill=0.05, target=0.9, budget=60, horizon=60)
    th = se.dgm_stages()
    ungated = se.run_policy("dgm", land, 0, th, seed_ungated=True)
    gated = se.run_policy("dgm", land, 0, th, seed_ungated=False)
    assert ungated.skill_at_budget == pytest.approx(0.05, abs=1e-6)  # nothing else ran
    assert gated.skill_at_budget is not None


def test_the_rule_picks_the_recommended_policy() -> None:
    def row(ratio: float | None, skill: float) -> dict[str, object]:
        return {"evals_to_target_p50": 1, "ratio_to_dgm": ratio, "skill_at_budget_p50": skill}

    result = {
        "a": {"dgm": row(1.0, 0.3), "fast": row(0.4, 0.29), "good": row(0.8, 0.31)},
        "b": {"dgm": row(1.0, 0.3), "fast": row(0.3, 0.35), "good": row(0.6, 0.30)},
    }
    assert se.recommend(result) == ("good", 0.8)  # `fast` is worse at budget on `a`
    result["a"]["good"] = row(None, 0.31)  # never reaches the target on `a`
    assert se.recommend(result) == ("dgm", 1.0)
    assert se.ratio_to(500, float("inf"), 2000) == 0.25  # DGM beyond the horizon: a bound


def test_the_simulator_drives_the_engines_policy_code(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: dict[str, int] = {"decide": 0, "final": 0, "select": 0, "race": 0, "incumbent": 0}
    decide, final, select = hgm.decide, hgm.final_agent, selectors.SELECTORS["score_child_prop"]

    def count(name: str, fn: Any) -> Any:
        def wrapped(*a: Any, **kw: Any) -> Any:
            calls[name] += 1
            return fn(*a, **kw)

        return wrapped

    monkeypatch.setattr(hgm, "decide", count("decide", decide))
    monkeypatch.setattr(hgm, "final_agent", count("final", final))
    monkeypatch.setitem(selectors.SELECTORS, "score_child_prop", count("select", select))
    monkeypatch.setattr(race, "decide", count("race", race.decide))
    monkeypatch.setattr(race, "incumbent", count("incumbent", race.incumbent))
    land = landscape()
    hgm_trace = se.run_policy("hgm", land, 0, se.dgm_stages())
    dgm_trace = se.run_policy("dgm", land, 0, se.dgm_stages())
    assert calls["decide"] > 2 * land.budget - 1  # one per evaluation, more for expansions
    assert calls["final"] > 0 and calls["select"] > 0
    race_trace = se.run_policy("race", land, 0, se.dgm_stages())
    assert calls["race"] > land.budget and calls["incumbent"] > land.budget
    assert race_trace.skill_at_budget is not None
    assert hgm_trace.skill_at_budget is not None and dgm_trace.skill_at_budget is not None


def test_same_seed_same_result() -> None:
    land = landscape()
    th = se.dgm_stages()
    for policy in se.policies():
        assert se.run_policy(policy, land, 4, th) == se.run_policy(policy, land, 4, th)


def test_it_prints_one_json_line_of_the_agreed_shape(tmp_path: Path) -> None:
    (tmp_path / "tiny.json").write_text(json.dumps(TINY))
    (tmp_path / "other.json").write_text(json.dumps({**TINY, "name": "other", "noise": 0.2}))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.perf.search_efficiency",
            "--landscape",
            str(tmp_path / "tiny.json"),
            "--landscape",
            str(tmp_path / "other.json"),
            "--seeds",
            "4",
            "--jobs",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert out["recommended"] in se.policies() and set(out["landscapes"]) == {"tiny", "other"}
    for result in out["landscapes"].values():
        assert set(result) == set(se.policies())
        assert result["dgm"]["ratio_to_dgm"] in (1.0, None)
        for row in result.values():
            assert {"evals_to_target_p50", "ratio_to_dgm", "skill_at_budget_p50"} <= set(row)
            assert 0 < row["skill_at_budget_p50"] < 1
    assert (out["recommended"], out["worst_ratio"]) == se.recommend(out["landscapes"])


def test_the_default_horizon_is_four_budgets() -> None:
    assert se.horizon_of(landscape(budget=150)) == 600
    assert se.horizon_of(landscape(budget=150, horizon=200)) == 200


def test_policies_chooses_what_runs_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    (tmp_path / "tiny.json").write_text(json.dumps(TINY))
    run = [sys.executable, "-m", "benchmarks.perf.search_efficiency"]
    run += ["--landscape", str(tmp_path / "tiny.json"), "--seeds", "2", "--jobs", "1"]
    proc = subprocess.run([*run, "--policies", "race"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert set(json.loads(proc.stdout)["landscapes"]["tiny"]) == {"dgm", "race"}
    bad = subprocess.run([*run, "--policies", "race,fast"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown policy 'fast'" in bad.stderr
    assert bad.stderr.count("\n") == 1 and bad.stdout == ""


@pytest.mark.parametrize(
    ("seed", "folder"),
    [(18, "drawn"), (19, "holdout-19"), (20, "holdout-20"), (21, "holdout-21"), (22, "holdout-22")],
)
def test_drawn_landscapes_follow_the_stated_seed_and_ranges(
    tmp_path: Path, seed: int, folder: str
) -> None:
    lands = draw_landscapes.draw_all(seed, 8)
    other = draw_landscapes.draw_all(seed + 1, 8)
    assert lands == draw_landscapes.draw_all(seed, 8) and lands != other
    for land in lands:
        assert land.tasks in (50, 100, 150, 300) and 1.0 <= land.difficulty_sd <= 2.0
        assert 0.02 <= round(land.target - land.seed_skill, 3) <= 0.08
        assert sum(e.weight for e in land.edits) == pytest.approx(1.0, abs=0.011)
    draw_landscapes.main(["--seed", str(seed), "--count", "8", "--out", str(tmp_path)])
    shipped = se.LANDSCAPES / folder
    for land in lands:  # the shipped folder is exactly this draw, untouched
        name = f"{land.name}.json"
        assert (tmp_path / name).read_text() == (shipped / name).read_text()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{", "landscape"),
        (json.dumps({**TINY, "seed_skill": 1.5}), "seed_skill"),
        (json.dumps({**TINY, "edits": []}), "edits"),
    ],
)
def test_a_bad_landscape_is_one_line_and_exit_2(tmp_path: Path, content: str, says: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.perf.search_efficiency", "--landscape", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and says in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""

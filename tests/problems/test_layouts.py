"""ReEvo's and OpenEvolve's layouts, read as they are, score their seeds exactly as their
own evaluators do when run by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.problems import ProblemError, load
from benchmarks.problems.evaluate import HARNESS_DIR
from tests.problems.conftest import Score
from tests.problems.layouts import OE_DICT_EVALUATOR, write_openevolve, write_reevo


def run_reevo_by_hand(problem_dir: Path, code: str, size: int) -> str:
    """What ReEvo's _run_code does: write gpt.py, run eval.py with stdout and stderr in one file."""
    (problem_dir / "gpt.py").write_text(code)
    out = problem_dir.parent.parent / "stdout.txt"
    with out.open("w") as f:
        subprocess.run(
            [
                sys.executable,
                "-u",
                str(problem_dir / "eval.py"),
                str(size),
                str(problem_dir.parent.parent),
                "train",
            ],
            stdout=f,
            stderr=f,
            check=True,
            timeout=120,
        )
    return out.read_text()


def test_reevo_layout_is_read_from_the_checkout(tmp_path: Path) -> None:
    problem_dir = write_reevo(tmp_path / "reevo", obj_type="max")
    subprocess.run([sys.executable, "gen_inst.py"], cwd=problem_dir, check=True)
    p = load(problem_dir)
    assert (p.layout, p.name, p.direction, p.func_name) == ("reevo", "toy_tsp", "max", "pick_next")
    assert p.prompts["func_signature"].startswith("def pick_next_v{version}")
    assert p.prompts["external_knowledge"] == "Nearby points first."
    assert p.prompts["common/system_generator"] == "You are an expert in heuristics."
    # The candidate is gpt.py beside eval.py, the seed renamed to _v2 with numpy imported, as ReEvo does.
    assert list(p.program) == ["problems/toy_tsp/gpt.py"]
    assert p.seed()["problems/toy_tsp/gpt.py"].startswith("import numpy as np\ndef pick_next_v2(")
    assert p.timeout_s == 30.0  # cfg/config.yaml's timeout, as ReEvo kills an evaluation
    assert p.requirements == ["numpy==2.4.6"]  # the evaluator packages of its pyproject.toml
    # Validation and test instances never enter the sandbox of a training evaluation.
    assert "problems/toy_tsp/dataset/train30_dataset.npy" in p.files
    assert sorted(p.heldout) == [
        "problems/toy_tsp/dataset/test30_dataset.npy",
        "problems/toy_tsp/dataset/val30_dataset.npy",
    ]
    assert not set(p.heldout) & set(p.files)


@pytest.mark.docker
def test_reevo_seed_scores_as_reevo_runs_it(tmp_path: Path, score: Score) -> None:
    problem_dir = write_reevo(tmp_path / "reevo")
    subprocess.run([sys.executable, "gen_inst.py"], cwd=problem_dir, check=True)
    p = load(problem_dir)
    result = score(p)
    assert result.ok, result.failure
    by_hand = run_reevo_by_hand(problem_dir, p.seed()[p.main_file], 30)
    assert result.score == float(by_hand.split("\n")[-2])  # ReEvo's own reading of the objective
    assert result.direction == "min"
    # A worse heuristic (farthest point next) scores higher, exactly as by hand too.
    worse = "import numpy as np\ndef pick_next_v2(current, unvisited, dist):\n    return max(unvisited, key=lambda n: dist[current][n])\n"
    other = score(p, {p.main_file: worse})
    assert other.ok and result.better_than(other)
    assert other.score == float(run_reevo_by_hand(problem_dir, worse, 30).split("\n")[-2])


@pytest.mark.docker
def test_reevo_traceback_and_bad_last_line_fail_with_reason(tmp_path: Path, score: Score) -> None:
    problem_dir = write_reevo(tmp_path / "reevo")
    subprocess.run([sys.executable, "gen_inst.py"], cwd=problem_dir, check=True)
    p = load(problem_dir)
    crash = score(
        p, {p.main_file: "def pick_next_v2(current, unvisited, dist):\n    return 10 ** 6\n"}
    )
    assert (
        not crash.ok
        and crash.failure
        and "KeyError" in crash.failure
        and "Traceback" in crash.feedback
    )
    chatty = "import atexit\natexit.register(print, 'done')\n" + p.seed()[p.main_file]
    poison = "import numpy as np\nnp.mean = lambda *a, **k: float('nan')\n" + p.seed()[p.main_file]
    nan = score(p, {p.main_file: poison})
    assert not nan.ok and nan.failure == "the score is not a finite number: nan"
    invalid = score(p, {p.main_file: chatty})
    assert (
        not invalid.ok
        and invalid.failure
        and "objective" in invalid.failure
        and "'done'" in invalid.failure
    )


def run_openevolve_by_hand(root: Path) -> dict[str, object]:
    """evaluate('initial_program.py') as a user runs it, with `openevolve` importable (the shim)."""
    code = (
        "import json, evaluator; r = evaluator.evaluate('initial_program.py'); "
        "print(json.dumps(getattr(r, 'metrics', r)))"
    )
    env = {**os.environ, "PYTHONPATH": str(HARNESS_DIR)}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.docker
def test_openevolve_seed_scores_as_its_evaluator_does(tmp_path: Path, score: Score) -> None:
    root = write_openevolve(tmp_path / "function_minimization")
    p = load(root)
    assert (p.layout, p.direction, p.timeout_s, p.requirements) == (
        "openevolve",
        "max",
        60.0,
        ["numpy==2.4.6"],
    )
    assert "EVOLVE-BLOCK-START" in p.seed()[p.main_file]
    result = score(p)
    assert result.ok, result.failure
    by_hand = run_openevolve_by_hand(root)
    assert result.score == by_hand["combined_score"]
    assert result.metrics == by_hand
    assert result.feedback.startswith("found: minimum ")  # the artifacts reach the LLM


@pytest.mark.docker
def test_openevolve_dict_without_combined_score_is_the_mean(tmp_path: Path, score: Score) -> None:
    root = write_openevolve(tmp_path / "dict_eval", evaluator=OE_DICT_EVALUATOR)
    result = score(load(root))
    by_hand = run_openevolve_by_hand(root)
    assert result.ok and result.metrics == by_hand
    assert result.score == (by_hand["closeness"] + by_hand["speed"]) / 2  # type: ignore[operator]


def test_a_folder_in_no_layout_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "stuff.py").write_text("x = 1\n")
    with pytest.raises(ProblemError, match="no layout dgm reads"):
        load(tmp_path)
    with pytest.raises(ProblemError, match="no problem at"):
        load(tmp_path / "missing")

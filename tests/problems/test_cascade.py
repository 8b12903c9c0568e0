"""OpenEvolve's cascade in dgm's OpenEvolve layout (openevolve/evaluator.py
`_cascade_evaluate`, 0.4.1): stage by stage against config.yaml's thresholds, in the
sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.problems import ProblemError, load
from benchmarks.problems.openevolve import config_cascade
from tests.problems.conftest import Score

EVALUATOR = """
import importlib.util


def value(path):
    spec = importlib.util.spec_from_file_location("program", path)
    program = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(program)
    return program.VALUE


def evaluate(path):
    return {"combined_score": -1.0, "full": 1.0}


def evaluate_stage1(path):
    return {"combined_score": value(path), "s1": 1.0, "error": 0.0}


def evaluate_stage2(path):
    if value(path) == 2.0:
        raise ValueError("stage two broke")
    return {"combined_score": value(path) * 10, "s2": 1.0}


def evaluate_stage3(path):
    return {"combined_score": value(path) * 100, "s3": 1.0, "error": 5.0}
"""


def problem_at(root: Path, config: str) -> Path:
    root.mkdir(parents=True)
    (root / "initial_program.py").write_text("VALUE = 0.5\n")
    (root / "evaluator.py").write_text(EVALUATOR)
    (root / "config.yaml").write_text(config)
    return root


@pytest.mark.docker
def test_each_stage_runs_only_past_the_last_ones_threshold(tmp_path: Path, score: Score) -> None:
    problem = load(
        problem_at(tmp_path / "cascade", "evaluator:\n  cascade_thresholds: [1.0, 20.0]\n")
    )
    program = "program/program.py"

    def run(value: float) -> tuple[float | None, dict[str, float]]:
        result = score(problem, {program: f"VALUE = {value}\n"})
        assert result.ok, result.failure
        return result.score, result.metrics

    assert run(0.5) == (0.5, {"combined_score": 0.5, "s1": 1.0, "error": 0.0})
    assert run(1.5) == (15.0, {"combined_score": 15.0, "s1": 1.0, "s2": 1.0})
    assert run(3.0) == (300.0, {"combined_score": 300.0, "s1": 1.0, "s2": 1.0, "s3": 1.0})
    broke_score, broke = run(2.0)  # stage 2 raised: stage 1's result, stage2_passed 0
    assert broke_score == 2.0 and broke["stage2_passed"] == 0.0 and "s2" not in broke


FLAGGED = """
def evaluate(path):
    return {"score": -1.0}


def evaluate_stage1(path):
    return {"score": 0.4, "compiles": True}


def evaluate_stage2(path):
    return {"score": 9.0}
"""


@pytest.mark.docker
def test_without_combined_score_flags_do_not_count_toward_a_threshold(
    tmp_path: Path, score: Score
) -> None:
    """OpenEvolve's _passes_threshold averages the numeric metrics but `error`, booleans
    left out: stage 1's 0.4 misses 0.6 (counting True as 1.0 would pass it, 0.7)."""
    root = problem_at(tmp_path / "flags", "evaluator:\n  cascade_thresholds: [0.6]\n")
    (root / "evaluator.py").write_text(FLAGGED)
    result = score(load(root))
    assert result.ok, result.failure
    assert result.metrics == {"score": 0.4, "compiles": 1.0}


@pytest.mark.docker
def test_cascade_off_runs_evaluate(tmp_path: Path, score: Score) -> None:
    problem = load(problem_at(tmp_path / "direct", "evaluator:\n  cascade_evaluation: false\n"))
    result = score(problem)
    assert (
        result.ok
        and result.score == -1.0
        and result.metrics
        == {
            "combined_score": -1.0,
            "full": 1.0,
        }
    )


def test_thresholds_follow_openevolve_defaults_and_refuse_nonsense(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    assert config_cascade(config) == (0.5, 0.75, 0.9)  # no config: OpenEvolve's defaults
    config.write_text("evaluator:\n  cascade_thresholds: [1.3]\n")
    assert config_cascade(config) == (1.3,)
    config.write_text("evaluator:\n  cascade_evaluation: false\n")
    assert config_cascade(config) == ()
    for bad in ("[.nan]", "[]", "fast", "[a]"):
        config.write_text(f"evaluator:\n  cascade_thresholds: {bad}\n")
        with pytest.raises(ProblemError, match="cascade_thresholds"):
            config_cascade(config)

"""OpenEvolve's problem layout, read as it is: `initial_program.py` (EVOLVE-BLOCK-START /
EVOLVE-BLOCK-END mark the regions to evolve) and `evaluator.py`, whose
`evaluate(program_path)` returns a dict of metrics or an `EvaluationResult` (metrics and
artifacts). The primary score is `combined_score`, else the mean of the numeric metrics,
as OpenEvolve's get_fitness_score; higher is better. OpenEvolve writes each candidate to
a file of its own outside the problem's directory and loads the evaluator by path with
that directory first on sys.path; dgm does the same, in the sandbox, where
`from openevolve.evaluation_result import EvaluationResult` finds a compatible shim.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from benchmarks.problems.problem import (
    HARNESS,
    REPORT_DIR,
    TASK,
    Problem,
    checked_timeout,
    read_requirements,
    tree,
)

EVOLVE_START, EVOLVE_END = "EVOLVE-BLOCK-START", "EVOLVE-BLOCK-END"
PRIMARY = "combined_score"


def load_openevolve(path: Path) -> Problem:
    path = path.resolve()
    files = {f"problem/{rel}": f for rel, f in tree(path).items() if rel != "initial_program.py"}
    program = "program/program.py"
    timeout = config_timeout(path / "config.yaml")
    command = [
        "python3",
        f"{HARNESS}/run_evaluate.py",
        f"{TASK}/problem/evaluator.py",
        f"{TASK}/{program}",
        f"{REPORT_DIR}/result.json",
    ]
    return Problem(
        name=path.name,
        layout="openevolve",
        root=path,
        description=readme(path),
        direction="max",
        files=files,
        program={program: (path / "initial_program.py").read_text()},
        command=command,
        workdir=f"{TASK}/problem",
        reader="result_file",
        primary=PRIMARY,
        timeout_s=timeout,
        requirements=read_requirements(path / "requirements.txt"),
    )


def config_timeout(config: Path) -> float:
    """evaluator.timeout from OpenEvolve's config.yaml when there is one (its default: 300 s);
    one that is no deadline (-5, NaN, .inf) is refused."""
    try:
        raw = yaml.safe_load(config.read_text()) if config.is_file() else None
        value = ((raw or {}).get("evaluator") or {}).get("timeout")
    except (yaml.YAMLError, AttributeError, TypeError, ValueError, UnicodeDecodeError):
        return 300.0
    return 300.0 if value is None else checked_timeout(value, f"{config} evaluator.timeout")


def readme(path: Path) -> str:
    for name in ("README.md", "readme.md"):
        if (path / name).is_file():
            return (path / name).read_text()[:4000]
    return ""


def fitness(metrics: dict[str, float]) -> float | None:
    """OpenEvolve's get_fitness_score: combined_score if present, else the mean of the rest."""
    if PRIMARY in metrics:
        return metrics[PRIMARY]
    return sum(metrics.values()) / len(metrics) if metrics else None

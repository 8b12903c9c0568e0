"""OpenEvolve's problem layout, read as it is: `initial_program.py` (EVOLVE-BLOCK-START /
EVOLVE-BLOCK-END mark the regions to evolve) and `evaluator.py`, whose
`evaluate(program_path)` returns a dict of metrics or an `EvaluationResult` (metrics and
artifacts). The primary score is `combined_score`, else the mean of the numeric metrics,
as OpenEvolve's get_fitness_score; higher is better. OpenEvolve writes each candidate to
a file of its own outside the problem's directory and loads the evaluator by path with
that directory first on sys.path; dgm does the same, in the sandbox, where
`from openevolve.evaluation_result import EvaluationResult` finds a compatible shim.

Scoring follows OpenEvolve's cascade (openevolve/evaluator.py `_cascade_evaluate`, see
docs/problems.md): with `evaluator.cascade_evaluation` on (OpenEvolve's default), an
evaluator that defines `evaluate_stage1` is scored stage by stage against
`evaluator.cascade_thresholds`, in the sandbox (harness/run_evaluate.py `cascade`).
"""

from __future__ import annotations

import ast
import math
from pathlib import Path
from typing import Literal

import yaml

from benchmarks import pyparse
from benchmarks.problems.problem import (
    HARNESS,
    HARNESS_DIR,
    REPORT_DIR,
    TASK,
    Problem,
    ProblemError,
    Reader,
    checked_timeout,
    read_requirements,
    tree,
)

EVOLVE_START, EVOLVE_END = "EVOLVE-BLOCK-START", "EVOLVE-BLOCK-END"
PRIMARY = "combined_score"
# OpenEvolve's EvaluatorConfig defaults (openevolve/config.py, 0.4.1)
CASCADE_DEFAULT = True
THRESHOLDS_DEFAULT = (0.5, 0.75, 0.9)
SHIM = "openevolve"  # ours, in the writable /task: never imported before a candidate


def load_openevolve(path: Path) -> Problem:
    path = path.resolve()
    files = {f"problem/{rel}": f for rel, f in tree(path).items() if rel != "initial_program.py"}
    program = "program/program.py"
    thresholds = config_cascade(path / "config.yaml")
    command = [
        "python3",
        f"{HARNESS}/run_evaluate.py",
        f"{TASK}/problem/evaluator.py",
        f"{TASK}/{program}",
        f"{REPORT_DIR}/result.json",
        *(["--cascade", ",".join(repr(t) for t in thresholds)] if thresholds else []),
    ]
    return folder_problem(
        path,
        "openevolve",
        files,
        {program: (path / "initial_program.py").read_text()},
        command,
        f"{TASK}/problem",
        "result_file",
        requirements=read_requirements(path / "requirements.txt"),
    )


def folder_problem(
    path: Path,
    layout: Literal["openevolve", "container"],
    files: dict[str, Path],
    program: dict[str, str],
    command: list[str],
    workdir: str,
    reader: Reader,
    requirements: list[str] | None = None,
    image_context: Path | None = None,
) -> Problem:
    """A problem folder read by OpenEvolve's conventions, which SkyDiscover's container
    evaluators keep too: named after its folder, described by its README, scored by
    `combined_score` (higher is better) under config.yaml's evaluator.timeout. `command`
    scores a candidate in `workdir`; `reader` says how its output is read."""
    return Problem(
        name=path.name,
        layout=layout,
        root=path,
        description=readme(path),
        direction="max",
        files=files,
        program=program,
        command=command,
        workdir=workdir,
        reader=reader,
        primary=PRIMARY,
        timeout_s=config_timeout(path / "config.yaml"),
        requirements=requirements or [],
        image_context=image_context,
    )


def config_timeout(config: Path) -> float:
    """evaluator.timeout from OpenEvolve's config.yaml when there is one (its default: 300 s);
    one that is no deadline (-5, NaN, .inf) is refused."""
    value = evaluator_config(config).get("timeout")
    return 300.0 if value is None else checked_timeout(value, f"{config} evaluator.timeout")


def evaluator_config(config: Path) -> dict[str, object]:
    """The `evaluator:` section of OpenEvolve's config.yaml ({} when none or unreadable)."""
    try:
        raw = yaml.safe_load(config.read_text()) if config.is_file() else None
        section = (raw or {}).get("evaluator") or {}
    except (yaml.YAMLError, AttributeError, TypeError, ValueError, UnicodeDecodeError):
        return {}
    return section if isinstance(section, dict) else {}


def config_cascade(config: Path) -> tuple[float, ...]:
    """The cascade thresholds OpenEvolve would use, () when its cascade is off: its
    defaults (on; 0.5, 0.75, 0.9) unless config.yaml says otherwise. Thresholds that are
    not finite numbers are refused."""
    section = evaluator_config(config)
    if not section.get("cascade_evaluation", CASCADE_DEFAULT):
        return ()
    raw = section.get("cascade_thresholds", THRESHOLDS_DEFAULT)
    if not isinstance(raw, (list, tuple)) or not raw:
        raise ProblemError(f"{config} evaluator.cascade_thresholds: give a list of numbers")
    try:
        thresholds = tuple(float(t) for t in raw)
    except (TypeError, ValueError):
        thresholds = ()
    if not thresholds or not all(math.isfinite(t) for t in thresholds):
        raise ProblemError(f"{config} evaluator.cascade_thresholds: give a list of numbers")
    return thresholds


def preload_modules(problem: Problem) -> tuple[str, ...]:
    """What a sandbox's pre-started interpreter loads once (sandbox/zygote.py) for this
    problem: the installed packages (numpy, scipy, the standard library) that the
    evaluator, the seed program and the in-sandbox harness import, and what they reach as
    attributes of those (`np.random.uniform` gives numpy.random.uniform: numpy loads
    numpy.random on first access, as concurrent.futures does ThreadPoolExecutor; loading
    them in every forked child was half of a quick evaluation's CPU). The problem's own
    modules and the openevolve shim are left out: they sit in the writable /task, where a
    candidate may have changed them. Names only: no file of the problem is run."""
    mine = [*problem.files, *problem.program, *problem.heldout]  # a preload would shadow them
    local = {rel.split("/")[1].removesuffix(".py") for rel in mine} | {SHIM}
    sources = [problem.root / "evaluator.py", *sorted(HARNESS_DIR.rglob("*.py"))]
    texts = [*(read_or_empty(f) for f in sources), *problem.program.values()]
    names = {name for text in texts for name in reached(text)}
    return tuple(sorted(n for n in names if n.split(".")[0] not in local))


def read_or_empty(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return ""


def reached(source: str, depth: int = 3) -> set[str]:
    """The modules `source` imports (`import a.b`, `from a import b`, never relative) and
    the dotted names it uses through them, at most `depth` attributes deep (`import numpy
    as np` and `np.random.rand` give numpy and numpy.random.rand)."""
    try:
        syntax = pyparse.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    bound: dict[str, str] = {}  # a name the source binds to a module -> the module
    for node in ast.walk(syntax):
        if isinstance(node, ast.Import):
            for a in node.names:
                names.add(a.name)
                top = a.name.split(".")[0]  # `import a.b` binds a; `import a.b as c`, a.b
                bound[a.asname or top] = a.name if a.asname else top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            bound.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
    for node in ast.walk(syntax):
        chain: list[str] = []
        while isinstance(node, ast.Attribute):
            chain.insert(0, node.attr)
            node = node.value
        if chain and isinstance(node, ast.Name) and node.id in bound:
            names.add(".".join([bound[node.id], *chain[:depth]]))
    return names


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

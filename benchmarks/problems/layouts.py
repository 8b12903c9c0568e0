"""Reading a problem in whichever of four layouts it is in: `load(path)`.

- dgm's own: a `problem.yaml` beside the files (benchmarks/problems/problem.py);
- ReEvo's: `problems/NAME` inside a ReEvo checkout (benchmarks/problems/reevo.py);
- OpenEvolve's: `initial_program.py` and `evaluator.py` (benchmarks/problems/openevolve.py);
- SkyDiscover's container evaluator: `initial_program.*` and a Dockerfile with
  `evaluate.sh` (benchmarks/problems/container.py), or Harbor's task folder
  (benchmarks/problems/harbor.py);

or a shipped problem by name (`dgm bench list` shows them).
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.problems.container import is_container, load_container
from benchmarks.problems.openevolve import load_openevolve
from benchmarks.problems.problem import (
    ALIASES,
    SHIPPED,
    SHIPPED_DIR,
    Problem,
    ProblemError,
    load_dgm,
)
from benchmarks.problems.reevo import load_reevo


def load(path: str | Path) -> Problem:
    """The problem at `path` (a directory in one of the four layouts, a problem.yaml, or a
    shipped problem's name)."""
    p = Path(path)
    if not p.exists() and str(path) in {**ALIASES, **{k: k for k in SHIPPED}}:
        p = SHIPPED_DIR / ALIASES.get(str(path), str(path))
    if p.is_file() and p.name == "problem.yaml":
        p = p.parent
    if not p.is_dir():
        raise ProblemError(
            f"no problem at {path}: give a problem directory or one of {', '.join(SHIPPED)}"
        )
    try:
        return load_layout(p, path)
    except UnicodeDecodeError as e:  # any of the layouts' text files
        raise ProblemError(
            f"{path}: a file of the problem is not UTF-8 text (byte {e.start}): save it as UTF-8"
        ) from None


def load_layout(p: Path, path: str | Path) -> Problem:
    """The problem in directory `p`, by whichever layout it has."""
    if (p / "problem.yaml").is_file():
        return load_dgm(p)
    if is_container(p):
        return load_container(p)
    if (p / "initial_program.py").is_file() and (p / "evaluator.py").is_file():
        return load_openevolve(p)
    if (p / "eval.py").is_file() and p.parent.name == "problems":
        return load_reevo(p)
    raise ProblemError(
        f"{path} is in no layout dgm reads: it needs a problem.yaml (dgm), initial_program.py and "
        "evaluator.py (OpenEvolve), initial_program.* and evaluator/Dockerfile with evaluate.sh "
        "(a container evaluator), task.toml and tests/test.sh (a Harbor task), or to be problems/NAME with an eval.py in a ReEvo checkout"
    )

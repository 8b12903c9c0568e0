"""ReEvo's problem layout, read as it is: `problems/NAME` inside a ReEvo checkout.

From there: `cfg/problem/NAME.yaml` (problem_size, func_name, obj_type, problem_type,
description), `prompts/NAME/` (seed_func.txt, func_signature.txt, func_desc.txt,
external_knowledge.txt) and `prompts/common/`. ReEvo writes each candidate to
`problems/NAME/gpt.py`, runs `python -u eval.py <problem_size> <root_dir> train` with
stdout and stderr in one file, takes the objective from the last line printed, and
counts a traceback anywhere in that output as a failure; dgm does the same, in the sandbox.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from benchmarks.problems.problem import (
    TASK,
    Problem,
    ProblemError,
    checked_timeout,
    read_requirements,
    read_text,
    tree,
)
from benchmarks.problems.result import Direction


def load_reevo(path: Path) -> Problem:
    path = path.resolve()
    name, root = path.name, path.parent.parent
    cfg = read_cfg(root / "cfg" / "problem" / f"{name}.yaml")
    black_box = cfg.get("problem_type") == "black_box"
    prompt_dir = root / "prompts" / (f"{name}_black_box" if black_box else name)
    prompts = read_prompts(prompt_dir, root / "prompts" / "common")
    direction: Direction = "max" if cfg.get("obj_type") == "max" else "min"
    eval_file = "eval_black_box.py" if black_box else "eval.py"
    problem_dir = f"problems/{name}"
    candidate = f"{problem_dir}/gpt.py"
    heldout = [f"{problem_dir}/{rel}" for rel in tree(path) if is_heldout(rel)]
    files = {f"{problem_dir}/{rel}": f for rel, f in tree(path).items()}
    files = {k: v for k, v in files.items() if k != candidate and k not in heldout}
    argv = [
        "python",
        "-u",
        f"{TASK}/{problem_dir}/{eval_file}",
        str(cfg.get("problem_size", "")),
        TASK,
        "train",
    ]
    return Problem(
        name=name,
        layout="reevo",
        root=path,
        description=str(cfg.get("description", "")),
        direction=direction,
        files=files,
        program={candidate: seed_code(prompts["seed_func"])},
        # One stream, as ReEvo's Popen(stdout=f, stderr=f): the objective is its last line.
        command=["sh", "-c", 'exec "$@" 2>&1', "sh", *argv],
        workdir="/tmp",
        reader="reevo_stdout",
        timeout_s=timeout(cfg, root / "cfg" / "config.yaml"),
        heldout=heldout,
        prompts=prompts,
        func_name=str(cfg.get("func_name", "")),
        black_box=black_box,
        requirements=requirements(path, root),
    )


# What ReEvo's evaluators import, of the dependencies its pyproject.toml declares (the rest
# is its LLM and config tooling, which an evaluation does not need).
EVALUATOR_PACKAGES = {"numpy", "scipy", "torch", "numba", "scikit-learn", "pandas", "networkx"}


def requirements(path: Path, root: Path) -> list[str]:
    """problems/NAME/requirements.txt when there is one, else the evaluator packages of the
    checkout's pyproject.toml."""
    own = read_requirements(path / "requirements.txt")
    if own:
        return own
    try:
        deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError):
        return []
    return [
        d
        for d in deps
        if re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0].strip().lower() in EVALUATOR_PACKAGES
    ]


def read_cfg(path: Path) -> dict[str, object]:
    if not path.is_file():
        raise ProblemError(
            f"a ReEvo problem needs {path} (is this problems/NAME inside a ReEvo checkout?)"
        )
    try:
        cfg = yaml.safe_load(read_text(path))
    except yaml.YAMLError as e:
        raise ProblemError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(cfg, dict) or "func_name" not in cfg:
        raise ProblemError(f"{path} names no func_name: it is not a ReEvo problem config")
    return cfg


def timeout(cfg: dict[str, object], config: Path) -> float:
    """ReEvo's `timeout` for one evaluation: the problem's, else cfg/config.yaml's (20 s
    in ReEvo's checkout), else 120 s. One that is no deadline (.inf, -5) is refused."""
    value, where = cfg.get("timeout"), "the problem's cfg"
    if value is None and config.is_file():
        try:
            value, where = (yaml.safe_load(config.read_text()) or {}).get("timeout"), str(config)
        except (yaml.YAMLError, AttributeError, UnicodeDecodeError):
            value = None
    return 120.0 if value is None else checked_timeout(value, where)


def read_prompts(prompt_dir: Path, common: Path) -> dict[str, str]:
    needed = ("seed_func", "func_signature", "func_desc")
    missing = [n for n in needed if not (prompt_dir / f"{n}.txt").is_file()]
    if missing:
        raise ProblemError(
            f"a ReEvo problem needs {', '.join(f'{prompt_dir}/{m}.txt' for m in missing)}"
        )
    prompts = {n: read_text(prompt_dir / f"{n}.txt") for n in needed}
    knowledge = prompt_dir / "external_knowledge.txt"
    prompts["external_knowledge"] = read_text(knowledge) if knowledge.is_file() else ""
    for f in sorted(common.glob("*.txt")) if common.is_dir() else []:
        prompts[f"common/{f.stem}"] = read_text(f)
    return prompts


def is_heldout(rel: str) -> bool:
    """ReEvo's validation and test instances: a training evaluation never reads them."""
    name = rel.rsplit("/", 1)[-1]
    return rel.startswith("dataset/") and (
        name.startswith(("val", "test")) or "_val" in name or "_test" in name
    )


def seed_code(seed_func: str) -> str:
    """The seed as ReEvo makes it: `extract_code_from_generator(seed_func).replace("v1", "v2")`."""
    code = extract_code(seed_func)
    if code is None:
        raise ProblemError(
            "the ReEvo seed_func.txt holds no function (a 'def' line, then a 'return')"
        )
    return code.replace("v1", "v2") + "\n"


def extract_code(response: str) -> str | None:
    """ReEvo's extract_code_from_generator: the ```python block, else the lines from the last
    `def` before the first line with `return` through it; numpy and torch imported when the
    code mentions them. None when there is no code."""
    fenced = re.search(r"```python(.*?)```", response, re.DOTALL)
    code = fenced.group(1).strip() if fenced else None
    if code is None:
        lines = response.split("\n")
        start = end = None
        for i, line in enumerate(lines):
            if line.startswith("def"):
                start = i
            if "return" in line:
                end = i
                break
        if start is not None and end is not None:
            code = "\n".join(lines[start : end + 1])
    if code is None:
        return None
    if "np" in code:
        code = "import numpy as np\n" + code
    if "torch" in code:
        code = "import torch\n" + code
    return code


def filter_traceback(output: str) -> str:
    """ReEvo's filter_traceback: from the first 'Traceback' line on, or '' when none."""
    lines = output.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("Traceback"):
            return "\n".join(lines[i:])
    return ""


def objective(output: str) -> float:
    """ReEvo's reading of the objective: `float(stdout.split('\\n')[-2])`."""
    return float(output.split("\n")[-2])

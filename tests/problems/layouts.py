"""Problem folders written as ReEvo and OpenEvolve users write them, for the tests."""

from __future__ import annotations

from pathlib import Path

# --- ReEvo: cfg/problem/NAME.yaml, prompts/NAME/*.txt, prompts/common/*.txt, problems/NAME/
REEVO_CFG = """problem_name: {name}
problem_type: constructive
obj_type: {obj_type}
problem_size: 30 # problem size for training
func_name: pick_next
description: Visit points greedily; the objective is the tour length.
"""
REEVO_SEED = '''def pick_next_v1(current: int, unvisited: set, dist: np.ndarray) -> int:
    """Pick the next point to visit."""
    scores = {node: dist[current][node] - 0.1 * np.mean(dist[node]) for node in unvisited}
    return min(scores, key=scores.get)
'''
REEVO_SIGNATURE = "def pick_next_v{version}(current: int, unvisited: set, dist: np.ndarray) -> int:"
REEVO_EVAL = """import sys
from os import path

import numpy as np

try:
    from gpt import pick_next_v2 as pick_next
except:
    from gpt import pick_next


def eval_heuristic(points: np.ndarray) -> float:
    n = points.shape[0]
    dist = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(-1))
    tour, unvisited = [0], set(range(1, n))
    for _ in range(n - 1):
        nxt = pick_next(tour[-1], set(unvisited), dist.copy())
        unvisited.remove(nxt)
        tour.append(nxt)
    return sum(dist[tour[i], tour[(i + 1) % n]] for i in range(n))


if __name__ == "__main__":
    print("[*] Running ...")
    problem_size = int(sys.argv[1])
    root_dir = sys.argv[2]
    mood = sys.argv[3]
    assert mood in ["train", "val"]
    basepath = path.join(path.dirname(__file__), "dataset")
    if not path.isfile(path.join(basepath, f"train{problem_size}_dataset.npy")):
        from gen_inst import generate_datasets
        generate_datasets()
    points = np.load(path.join(basepath, f"{mood}{problem_size}_dataset.npy"))
    objs = []
    for i in range(points.shape[0]):
        obj = eval_heuristic(points[i])
        print(f"[*] Instance {i}: {obj}")
        objs.append(obj)
    print("[*] Average:")
    print(np.mean(objs))
"""
REEVO_GEN = """import os

import numpy as np


def generate_datasets():
    basepath = os.path.join(os.path.dirname(__file__), "dataset")
    os.makedirs(basepath, exist_ok=True)
    np.random.seed(1234)
    np.save(os.path.join(basepath, "train30_dataset.npy"), np.random.rand(8, 30, 2))
    np.save(os.path.join(basepath, "val30_dataset.npy"), np.random.rand(8, 30, 2))
    np.save(os.path.join(basepath, "test30_dataset.npy"), np.random.rand(8, 30, 2))


if __name__ == "__main__":
    generate_datasets()
"""
REEVO_PYPROJECT = """[project]
name = "reevo"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = [
    "hydra-core>=1.3.2",
    "numpy==2.4.6",
    "openai>=1.8.0",
]
"""


def write_reevo(
    root: Path, name: str = "toy_tsp", obj_type: str = "min", eval_py: str = REEVO_EVAL
) -> Path:
    """A ReEvo checkout with one problem, its datasets generated as ReEvo's gen_inst does;
    returns problems/NAME."""
    (root / "cfg" / "problem").mkdir(parents=True)
    (root / "cfg" / "problem" / f"{name}.yaml").write_text(
        REEVO_CFG.format(name=name, obj_type=obj_type)
    )
    prompts = root / "prompts" / name
    prompts.mkdir(parents=True)
    (prompts / "seed_func.txt").write_text(REEVO_SEED)
    (prompts / "func_signature.txt").write_text(REEVO_SIGNATURE)
    (prompts / "func_desc.txt").write_text("The heuristic picks the next point of the tour.")
    (prompts / "external_knowledge.txt").write_text("Nearby points first.")
    (root / "prompts" / "common").mkdir()
    (root / "prompts" / "common" / "system_generator.txt").write_text(
        "You are an expert in heuristics."
    )
    (root / "pyproject.toml").write_text(REEVO_PYPROJECT)
    (root / "cfg" / "config.yaml").write_text(
        "algorithm: reevo\nmax_fe: 100\npop_size: 10\ntimeout: 30 # timeout for evaluation of a single heuristic\n"
    )
    problem = root / "problems" / name
    problem.mkdir(parents=True)
    (problem / "eval.py").write_text(eval_py)
    (problem / "gen_inst.py").write_text(REEVO_GEN)
    return problem


# --- OpenEvolve: initial_program.py with EVOLVE-BLOCK markers, evaluator.py, requirements.txt
OE_PROGRAM = '''# EVOLVE-BLOCK-START
"""Find the minimum of a bumpy function by random search."""
import numpy as np


def search_algorithm(iterations=200, bounds=(-5, 5)):
    rng = np.random.default_rng(7)
    best_x = best_y = 0.0
    best_value = evaluate_function(best_x, best_y)
    for _ in range(iterations):
        x, y = rng.uniform(bounds[0], bounds[1], 2)
        value = evaluate_function(x, y)
        if value < best_value:
            best_value, best_x, best_y = value, x, y
    return best_x, best_y, best_value


# EVOLVE-BLOCK-END


def evaluate_function(x, y):
    return np.sin(x) * np.cos(y) + np.sin(x * y) + (x**2 + y**2) / 20


def run_search():
    return search_algorithm()
'''
OE_EVALUATOR = '''"""Evaluator in OpenEvolve's contract."""
import importlib.util

import numpy as np

from openevolve.evaluation_result import EvaluationResult

GLOBAL_MIN_VALUE = -1.519


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    program = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(program)
    x, y, value = program.run_search()
    distance = float(abs(value - GLOBAL_MIN_VALUE))
    value_score = 1.0 / (1.0 + distance)
    return EvaluationResult(
        metrics={"value_score": value_score, "distance": distance, "combined_score": 0.8 * value_score + 0.2},
        artifacts={"found": f"minimum {value:.6f} at ({x:.4f}, {y:.4f})"},
    )
'''
OE_DICT_EVALUATOR = """import importlib.util


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    program = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(program)
    x, y, value = program.run_search()
    return {"closeness": 1.0 / (1.0 + abs(float(value) + 1.519)), "speed": 0.5}
"""


def write_openevolve(root: Path, evaluator: str = OE_EVALUATOR) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "initial_program.py").write_text(OE_PROGRAM)
    (root / "evaluator.py").write_text(evaluator)
    (root / "requirements.txt").write_text("numpy==2.4.6\n")
    (root / "config.yaml").write_text("max_iterations: 10\nevaluator:\n  timeout: 60\n")
    return root

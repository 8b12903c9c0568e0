"""Scores a black-box minimiser: the best value of the 5-dimensional Rastrigin function it
finds with 2000 calls, averaged over 10 runs with fixed seeds (lower is better). The
function keeps the best value itself, so a minimiser cannot report a better one than it
found. Run by hand: `python evaluator.py minimizer.py` prints the metrics."""

import importlib.util
import json
import random
import sys

import numpy as np

DIM, BUDGET, RUNS = 5, 2000, 10


class BudgetSpent(Exception):
    """The minimiser called f more than BUDGET times: its search is over."""


class Counted:
    """Rastrigin, counting calls and keeping the best value returned."""

    def __init__(self) -> None:
        self.calls, self.best = 0, float("inf")

    def __call__(self, x) -> float:
        if self.calls >= BUDGET:
            raise BudgetSpent
        self.calls += 1
        x = np.asarray(x, dtype=float).reshape(-1)
        if x.shape != (DIM,):
            raise ValueError(f"f takes {DIM} numbers, got {x.shape[0]}")
        value = float(10 * DIM + np.sum(x**2 - 10 * np.cos(2 * np.pi * x)))
        if np.isfinite(value):
            self.best = min(self.best, value)
        return value


def load_program(path: str):
    """The candidate, imported from its file."""
    spec = importlib.util.spec_from_file_location("candidate", path)
    assert spec is not None and spec.loader is not None, f"cannot import {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(minimize, seed: int) -> float:
    """One search with its own seeds (the Generator it is given, numpy's and Python's
    global ones); the best value f returned."""
    random.seed(seed)
    np.random.seed(seed)
    f = Counted()
    try:
        minimize(f, DIM, np.random.default_rng(seed))
    except BudgetSpent:
        pass
    if not np.isfinite(f.best):
        raise ValueError("the minimiser never called f with a point where it is finite")
    return f.best


def evaluate(program_path: str) -> dict:
    minimize = load_program(program_path).minimize
    bests = [run(minimize, seed) for seed in range(RUNS)]
    return {
        "mean_best_value": float(np.mean(bests)),
        "worst_best_value": float(np.max(bests)),
        "runs": float(RUNS),
    }


if __name__ == "__main__":
    print(json.dumps(evaluate(sys.argv[1])))

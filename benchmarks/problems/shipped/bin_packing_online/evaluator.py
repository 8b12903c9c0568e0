"""Scores an online bin packing heuristic: the excess (percent) of bins used over the L1
lower bound, on 5 fixed instances of 2000 Weibull-sized items (lower is better).
Run by hand: `python evaluator.py priority.py` prints the metrics."""

import importlib.util
import json
import sys

import numpy as np

SEED, N_INSTANCES, N_ITEMS, CAPACITY = 2024, 5, 2000, 100
SHAPE, SCALE, MAX_SIZE = 3, 45, 100


def instances() -> list[np.ndarray]:
    """Item sizes as in FunSearch's and ReEvo's Weibull instances, from a fixed seed."""
    rng = np.random.default_rng(SEED)
    return [
        np.round(np.clip(rng.weibull(SHAPE, N_ITEMS) * SCALE, 1, MAX_SIZE)).astype(int)
        for _ in range(N_INSTANCES)
    ]


def bins_used(priority, items: np.ndarray) -> int:
    """Pack the items online; the number of bins opened."""
    bins = np.full(len(items), float(CAPACITY))
    for item in items.astype(float):
        valid = np.nonzero(bins - item >= 0)[0]
        scores = np.asarray(priority(item, bins[valid]), dtype=float)
        if scores.shape != valid.shape:
            raise ValueError(f"priority returned shape {scores.shape}, expected {valid.shape}")
        bins[valid[np.argmax(scores)]] -= item
    return int((bins != CAPACITY).sum())


def load_program(path: str):
    """The candidate, imported from its file."""
    spec = importlib.util.spec_from_file_location("candidate", path)
    assert spec is not None and spec.loader is not None, f"cannot import {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def evaluate(program_path: str) -> dict:
    module = load_program(program_path)
    used = [bins_used(module.priority, items) for items in instances()]
    bound = [float(np.ceil(items.sum() / CAPACITY)) for items in instances()]
    excess = 100.0 * (np.mean(used) - np.mean(bound)) / np.mean(bound)
    return {
        "excess_percent": float(excess),
        "mean_bins": float(np.mean(used)),
        "mean_l1_bound": float(np.mean(bound)),
    }


if __name__ == "__main__":
    print(json.dumps(evaluate(sys.argv[1])))

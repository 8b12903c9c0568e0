"""Scores a TSP constructive heuristic: the mean tour length over 64 fixed instances of 50
cities (lower is better). Run by hand: `python evaluator.py heuristic.py` prints the metrics."""

import importlib.util
import json
import sys
from copy import copy

import numpy as np

SEED, N_INSTANCES, N_CITIES = 1234, 64, 50


def instances() -> np.ndarray:
    """The 64 instances: city positions in the unit square, from a fixed seed."""
    return np.random.default_rng(SEED).random((N_INSTANCES, N_CITIES, 2))


def tour_length(select_next_node, positions: np.ndarray) -> float:
    """Build a tour from node 0 with the heuristic (as ReEvo's tsp_constructive does)."""
    n = positions.shape[0]
    dist = np.sqrt(((positions[:, None, :] - positions[None, :, :]) ** 2).sum(-1))
    tour, unvisited = [0], set(range(1, n))
    for _ in range(n - 1):
        node = select_next_node(
            current_node=tour[-1],
            destination_node=0,
            unvisited_nodes=copy(unvisited),
            distance_matrix=dist.copy(),
        )
        if node not in unvisited:
            raise ValueError(f"select_next_node returned {node!r}, which is not an unvisited node")
        unvisited.remove(node)
        tour.append(int(node))
    return float(sum(dist[tour[i], tour[(i + 1) % n]] for i in range(n)))


def load_program(path: str):
    """The candidate, imported from its file."""
    spec = importlib.util.spec_from_file_location("candidate", path)
    assert spec is not None and spec.loader is not None, f"cannot import {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def evaluate(program_path: str) -> dict:
    module = load_program(program_path)
    lengths = [tour_length(module.select_next_node, p) for p in instances()]
    return {
        "mean_tour_length": float(np.mean(lengths)),
        "max_tour_length": float(np.max(lengths)),
        "instances": float(len(lengths)),
    }


if __name__ == "__main__":
    print(json.dumps(evaluate(sys.argv[1])))

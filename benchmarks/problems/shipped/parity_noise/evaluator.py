"""Scores a learner of parity with noise, as STOP's downstream task: mean test accuracy
over 32 fixed tasks (higher is better). Run by hand: `python evaluator.py algorithm.py`.

With DGM_SPLIT=heldout (STOP's final scoring) it scores on the held-out split instead:
the tasks heldout.json names (another seed, 50 tasks, as STOP's test split). heldout.json
never enters the sandbox of a training evaluation."""

import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np

SEED, N_TASKS, N_BITS, P_TRUE, N_TRAIN, N_TEST, NOISE = 4321, 32, 10, 0.3, 80, 20, 0.05


def split() -> tuple[int, int]:
    """(seed, number of tasks) of the split this evaluation scores on."""
    if os.environ.get("DGM_SPLIT", "train") != "heldout":
        return SEED, N_TASKS
    spec = json.loads((Path(__file__).resolve().parent / "heldout.json").read_text())
    return int(spec["seed"]), int(spec["tasks"])


def tasks(
    seed: int = SEED, n_tasks: int = N_TASKS
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(train_samples, noisy train_parity, test_samples, test_parity) per task, fixed seed."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_tasks):
        true_bits = rng.binomial(1, P_TRUE, N_BITS)
        samples = rng.binomial(1, 0.5, (N_TRAIN + N_TEST, N_BITS))
        parity = (samples * true_bits).sum(axis=1) % 2
        flips = rng.binomial(1, NOISE, N_TRAIN)
        out.append(
            (samples[:N_TRAIN], (parity[:N_TRAIN] + flips) % 2, samples[N_TRAIN:], parity[N_TRAIN:])
        )
    return out


def load_program(path: str):
    """The candidate, imported from its file."""
    spec = importlib.util.spec_from_file_location("candidate", path)
    assert spec is not None and spec.loader is not None, f"cannot import {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def evaluate(program_path: str) -> dict:
    data = tasks(*split())  # read before the candidate runs: its reads would trip the wire
    module = load_program(program_path)
    accuracies = []
    for train_x, train_y, test_x, test_y in data:
        predictions = np.asarray(
            module.algorithm(train_x.copy(), train_y.copy(), test_x.copy())
        ).reshape(-1)
        if predictions.shape != test_y.shape:
            raise ValueError(
                f"algorithm returned {predictions.shape[0]} predictions for {len(test_y)} test samples"
            )
        accuracies.append(float(np.mean(predictions == test_y)))
    return {"accuracy": float(np.mean(accuracies)), "min_accuracy": float(np.min(accuracies))}


if __name__ == "__main__":
    print(json.dumps(evaluate(sys.argv[1])))

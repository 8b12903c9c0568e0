"""Scores a learner of parity with noise as STOP's utility does (its parity_noise task):
the mean test accuracy over 20 tasks (higher is better). Run by hand: `python evaluator.py
algorithm.py`.

STOP's definition, task by task: numpy's global generator is seeded with 4321 + i (the
validation split, which STOP's improvers are chosen on); 10 bits of which each is in the
hidden subset with probability 0.3; 120 samples of 10 fair bits, labelled by the parity of
their hidden bits; the first 100 are the training samples, 5 % of their labels flipped; the
last 20 are the test samples. The candidate is called right after, on the same generator,
as STOP calls it. A task that takes more than 2 s, or any error, scores the whole
evaluation 1e-6; a candidate that cannot be loaded scores 0 (STOP's error rule).

With DGM_SPLIT=heldout it scores STOP's test split instead: the tasks heldout.json names
(seeds 5678 + i, 50 tasks). heldout.json never enters the sandbox of a training
evaluation."""

import importlib.util
import json
import os
import random
import signal
import sys
import time
from pathlib import Path

import numpy as np

SEED, N_TASKS = 4321, 20
N_BITS, P_TRUE, N_TRAIN, N_TEST, NOISE = 10, 0.3, 100, 20, 0.05
TIME_LIMIT_S = 2.0
ERROR_SCORE = 1e-6  # STOP's eps: an error or a timeout on any task
UNLOADABLE_SCORE = 0.0  # STOP's score of a candidate whose definition fails


class TaskTimeout(Exception):
    pass


def split() -> tuple[int, int]:
    """(first seed, number of tasks) of the split this evaluation scores on."""
    if os.environ.get("DGM_SPLIT", "train") != "heldout":
        return SEED, N_TASKS
    spec = json.loads((Path(__file__).resolve().parent / "heldout.json").read_text())
    return int(spec["seed"]), int(spec["tasks"])


def task(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_samples, noisy train_parity, test_samples, test_parity), drawn from numpy's
    global generator after seeding it (the candidate then draws from it too)."""
    np.random.seed(seed)
    random.seed(seed)
    true_bits = np.random.binomial(1, P_TRUE, N_BITS)
    samples = np.random.binomial(1, 0.5, (N_TRAIN + N_TEST, N_BITS))
    parity = np.sum(samples * true_bits, axis=1) % 2
    flips = np.random.binomial(1, NOISE, N_TRAIN)
    return samples[:N_TRAIN], (parity[:N_TRAIN] + flips) % 2, samples[N_TRAIN:], parity[N_TRAIN:]


def load_program(path: str):
    """The candidate, imported from its file."""
    spec = importlib.util.spec_from_file_location("candidate", path)
    assert spec is not None and spec.loader is not None, f"cannot import {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.algorithm


def on_alarm(signum: int, frame: object) -> None:
    raise TaskTimeout(f"a task took more than {TIME_LIMIT_S:g} s")


def accuracy(algorithm, seed: int) -> float:
    train_x, train_y, test_x, test_y = task(seed)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT_S)
    start = time.monotonic()
    try:
        predictions = algorithm(train_x, train_y, test_x)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if time.monotonic() - start > TIME_LIMIT_S:
        raise TaskTimeout(f"a task took more than {TIME_LIMIT_S:g} s")
    predictions = np.array(predictions).reshape(-1)
    return float(np.sum(predictions == test_y.reshape(-1)) / N_TEST)


def evaluate(program_path: str) -> dict:
    first, n_tasks = split()  # read before the candidate runs: its reads would trip the wire
    try:
        algorithm = load_program(program_path)
    except Exception as e:  # noqa: BLE001 - STOP's rule: a definition that fails scores 0
        return {"accuracy": UNLOADABLE_SCORE, "error": 1.0, "why": f"{type(e).__name__}: {e}"}
    signal.signal(signal.SIGALRM, on_alarm)
    total = 0.0
    for i in range(n_tasks):
        try:
            total += accuracy(algorithm, first + i) / n_tasks
        except Exception as e:  # noqa: BLE001 - STOP's rule: any error or timeout scores eps
            return {"accuracy": ERROR_SCORE, "error": 1.0, "why": f"{type(e).__name__}: {e}"}
    return {"accuracy": total, "error": 0.0}


if __name__ == "__main__":
    print(json.dumps(evaluate(sys.argv[1])))

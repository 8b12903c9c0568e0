"""`dgm run ... --seeds 1-5`: the same config started once per seed, one run after another.

Every run gets the same config but its seed (so the same budgets: iterations, evaluations,
dollars, wall clock), and a name ending in `-seedN`; `dgm compare` groups them by that
config and draws their median with an interquartile band. With `--executor ray` each
run's sandboxed jobs go to the cluster as in a single run; the runs themselves still
follow one another (a driver per run).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from rich.console import Console

from dgm.errors import UserError

MAX_SEEDS = 100  # a sweep is a handful of runs; a typo like 1-10000 must not start thousands
MAX_SEED = 2**63 - 1  # the archive stores a seed as a 64-bit integer
PART = re.compile(r"(\d+)(?:-(\d+))?")

console = Console(stderr=True)


def parse_seeds(text: str) -> list[int]:
    """'1-5' -> [1, 2, 3, 4, 5]; '1,4,9' -> [1, 4, 9]; '1-3,7' -> [1, 2, 3, 7] (in order,
    each once). A UserError naming the part that is not a seed or a range."""
    seeds: list[int] = []
    for part in text.split(","):
        m = PART.fullmatch(part.strip())
        if m is None:
            raise UserError(
                f"--seeds {text!r}: {part.strip()!r} is not a seed or a range: give e.g. 1-5 or 1,4,9"
            )
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise UserError(
                f"--seeds {text!r}: the range {part.strip()} runs backwards: give {hi}-{lo}"
            )
        if hi > MAX_SEED:
            raise UserError(f"--seeds {text!r}: {hi} is out of range (at most {MAX_SEED})")
        if hi - lo + 1 > MAX_SEEDS:
            raise UserError(f"--seeds {text!r}: more than {MAX_SEEDS} seeds: give a shorter range")
        seeds += [s for s in range(lo, hi + 1) if s not in seeds]
    if len(seeds) > MAX_SEEDS:
        raise UserError(f"--seeds {text!r}: more than {MAX_SEEDS} seeds: give fewer")
    return seeds


def seed_overrides(overrides: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """The run's options with this seed (and, when named, the name with the seed)."""
    name = overrides.get("name")
    return {**overrides, "seed": seed, "name": None if name is None else f"{name}-seed{seed}"}


def compare_command(run_ids: list[str]) -> str:
    return "dgm compare " + " ".join(run_ids)


def run_seeds(
    text: str,
    overrides: Mapping[str, Any],
    resume: str | None,
    start: Callable[[dict[str, Any]], tuple[str, str]],
) -> list[str]:
    """Start one run per seed with `start` (options -> (run id, why it stopped)); stop the
    sweep when a run is interrupted. The run ids, also printed with the compare command."""
    if resume is not None:
        raise UserError("--seeds starts new runs: drop --resume (resume each run by its id)")
    if overrides.get("seed") is not None:
        raise UserError("give either --seed or --seeds, not both")
    seeds = parse_seeds(text)
    run_ids: list[str] = []
    try:
        for i, seed in enumerate(seeds, 1):
            console.print(f"seed {seed} ({i}/{len(seeds)})", style="bold")
            run_id, reason = start(seed_overrides(overrides, seed))
            run_ids.append(run_id)
            if reason == "interrupted":
                console.print(f"interrupted: the sweep stops after seed {seed}", style="yellow")
                break
    finally:  # a sweep that stops on an error still names the runs it made
        if run_ids:
            print("\n".join(run_ids))
        if len(run_ids) > 1:
            console.print(f"compare them: {compare_command(run_ids)}")
    return run_ids

"""Does a run improve a problem? `dgm run --problem P --operator line_edit`, over seeds.

    python -m benchmarks.perf.improvement [--problem rastrigin] [--seeds 3] [--wall-clock 600]
                                          [--model local] [--max-iterations 1000]
                                          [--set KEY=VALUE ...]

Each seed is one real run, started as the README says: the `dgm` CLI in a subprocess,
`dgm run --problem P --operator line_edit --wall-clock W --max-iterations N --seed S`, with
the bundled model unless `--model` says otherwise and each `--set` passed on (to compare
settings, e.g. `--set line_edit.token_share=1`), into a fresh archive. Afterwards the
archive says what happened. Prints ONE JSON line:
- improved_seeds: runs whose best program scores strictly better than the seed program
  (as the problem's evaluator measures it, in the problem's direction); seeds: how many runs;
- median_wall_s: the runs' wall time (process start to exit, model loading included);
- median_relative_gain: |best - seed| / |seed|, signed so that better is positive;
- runs: per seed its seed, wall_s, seed_score, best_score, evaluations, children (made),
  valid (evaluated with a score), invalid (evaluated, no valid score), refused (edits
  refused before evaluation: the operator's failures and the rejected children);
- problem, direction, wall_clock_s, load_avg_1m (the machine's load at the start: other
  work on the cores slows every run).
Target (issue 17): improved_seeds >= 2 of 3 within 600 s of wall time each, on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from archive import open_archive
from archive.info import objective

DGM = Path(sys.executable).parent / "dgm"


def run_seed(
    problem: str,
    seed: int,
    wall_clock: float,
    max_iterations: int,
    model: str,
    settings: list[str],
    tmp: Path,
) -> dict[str, Any]:
    """One `dgm run` in a subprocess; what its archive holds afterwards."""
    archive = tmp / f"seed{seed}.db"
    argv = [
        str(DGM),
        "run",
        "--problem",
        problem,
        "--operator",
        "line_edit",
        "--wall-clock",
        str(wall_clock),
        "--max-iterations",
        str(max_iterations),
        "--seed",
        str(seed),
        "--model",
        model,
        "--archive",
        str(archive),
        *(arg for setting in settings for arg in ("--set", setting)),
    ]
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
    wall = time.monotonic() - started
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise SystemExit(f"seed {seed}: dgm run exited {done.returncode}: {' | '.join(tail)}")
    return {"seed": seed, "wall_s": round(wall, 1), **summarise(archive)}


def summarise(path: Path) -> dict[str, Any]:
    """Seed score, best score and the children's fates of the one run in an archive."""
    store = open_archive(path)
    try:
        [summary] = store.runs()
        direction = summary.direction
        agents = store.agents(summary.id)
        seed = next(a for a in agents if a.parent_id is None)
        children = [a for a in agents if a.parent_id is not None]
        evaluated = [a for a in agents if a.status == "evaluated" and a.score is not None]
        best = max(evaluated, key=lambda a: a.score or 0.0, default=seed)  # none: the seed failed
        failed = sum(1 for e in store.events(summary.id) if e.kind == "expansion_failed")
        return {
            "direction": direction,
            "seed_score": objective(seed.score, direction),
            "best_score": objective(best.score, direction),
            "evaluations": sum(a.n_evaluated for a in agents),
            "children": len(children),
            "valid": sum(1 for a in children if a in evaluated),
            "invalid": sum(1 for a in children if a.status == "failed"),
            "refused": failed + sum(1 for a in children if a.status == "rejected"),
            "improved": best.score is not None
            and seed.score is not None
            and best.score > seed.score,
        }
    finally:
        store.close()


def relative_gain(run: dict[str, Any]) -> float:
    seed, best = run["seed_score"], run["best_score"]
    if seed is None or best is None or seed == 0:
        return 0.0
    gain = (best - seed) / abs(seed)
    return -gain if run["direction"] == "min" else gain


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--problem", default="rastrigin", help="a shipped problem's name or a problem directory"
    )
    parser.add_argument("--seeds", type=int, default=3, help="runs, with seeds 0..N-1")
    parser.add_argument("--wall-clock", type=float, default=600.0, help="each run's budget (s)")
    parser.add_argument("--max-iterations", type=int, default=1000)
    parser.add_argument("--model", default="local")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="passed to dgm run"
    )
    parser.add_argument(
        "--at-once",
        action="store_true",
        help="run the seeds at the same time (they share the cores: each run gets less)",
    )
    args = parser.parse_args()
    problem = str(Path(args.problem).resolve()) if Path(args.problem).exists() else args.problem
    load_avg = os.getloadavg()[0]
    console = Console(stderr=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
        ) as progress,
    ):

        def one(seed: int) -> dict[str, Any]:
            task = progress.add_task(f"seed {seed}: dgm run --problem {args.problem}", total=None)
            run = run_seed(
                problem,
                seed,
                args.wall_clock,
                args.max_iterations,
                args.model,
                args.set,
                Path(tmp),
            )
            progress.update(
                task,
                total=1,
                completed=1,
                description=f"seed {seed}: {run['seed_score']} -> {run['best_score']} "
                f"({run['valid']} valid, {run['invalid']} invalid, {run['refused']} refused)",
            )
            return run

        with ThreadPoolExecutor(args.seeds if args.at_once else 1) as pool:
            runs = list(pool.map(one, range(args.seeds)))
    print(
        json.dumps(
            {
                "improved_seeds": sum(1 for r in runs if r["improved"]),
                "seeds": len(runs),
                "median_wall_s": round(statistics.median(r["wall_s"] for r in runs), 1),
                "median_relative_gain": round(statistics.median(map(relative_gain, runs)), 6),
                "problem": args.problem,
                "direction": runs[0]["direction"] if runs else None,
                "wall_clock_s": args.wall_clock,
                "model": args.model,
                "load_avg_1m": round(load_avg, 2),
                "runs": runs,
            }
        )
    )


if __name__ == "__main__":
    main()

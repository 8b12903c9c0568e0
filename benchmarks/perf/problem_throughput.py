"""Problem evaluations through the hardened sandbox: per-evaluation overhead and throughput.

    python -m benchmarks.perf.problem_throughput [--n 40] [--workers 2] [--backend docker]

A trivial evaluator (import the candidate, call it, return one metric) scores N candidates
through `Evaluator.evaluate`, each in its own sandbox from the warm pool (a recycled
container, reset and checked by its runner: docs/sandbox.md), and the same evaluator runs
bare on the host (the same in-sandbox harness, as a subprocess).
Prints ONE JSON line:
- overhead_ms_p50: median sandboxed evaluation minus median bare one, one at a time;
- evals_per_s: sandboxed evaluations per second with `--workers` at once;
- ratio: median sandboxed evaluation time / median bare one;
- bare_ms_p50, sandbox_ms_p50, bare_evals_per_s (the bare run with the same workers),
  load_avg_1m (the machine's load when it started: other work on the cores shows there).
Targets: overhead_ms_p50 <= 50; evals_per_s >= 10 on 2 cores with 2 workers.
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

from benchmarks.problems import Evaluator, load, open_problem_backend
from benchmarks.problems.evaluate import HARNESS_DIR

EVALUATOR = """import importlib.util


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {"score": float(module.solve())}
"""
PROBLEM = """name: trivial
program: [program.py]
evaluator: {module: evaluator.py}
direction: max
timeout_s: 30
"""


def make_problem(root: Path) -> Path:
    (root / "problem.yaml").write_text(PROBLEM)
    (root / "evaluator.py").write_text(EVALUATOR)
    (root / "program.py").write_text("def solve():\n    return 1.0\n")
    return root


def candidate(i: int) -> dict[str, str]:
    return {"problem/program.py": f"def solve():\n    return {i}.0\n"}


def host_python() -> str:
    """Debian's python3 when present: the interpreter the sandbox runs."""
    return "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


def bare(root: Path, i: int) -> float:
    """The same evaluation without the sandbox: candidate written, harness run, result read."""
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        prog = Path(tmp) / "program.py"
        prog.write_text(candidate(i)["problem/program.py"])
        result = Path(tmp) / "result.json"
        subprocess.run(
            [
                host_python(),
                str(HARNESS_DIR / "run_evaluate.py"),
                str(root / "evaluator.py"),
                str(prog),
                str(result),
            ],
            cwd=root,
            check=True,
            capture_output=True,
        )
        assert json.loads(result.read_text())["metrics"]["score"] == float(i)
    return time.perf_counter() - t


def ms(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="evaluations per measurement")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", default="docker", choices=["docker", "local"])
    args = parser.parse_args()
    load_avg = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        root = make_problem(Path(tmp))
        problem = load(root)
        with open_problem_backend(
            problem, args.backend, pool_size=2 * args.workers, run_label="bench-problem-throughput"
        ) as be:
            ev = Evaluator(problem, be)
            if hasattr(be, "warm"):
                be.warm(ev.limits)

            def sandboxed(i: int) -> float:
                t = time.perf_counter()
                r = ev.evaluate(candidate(i))
                assert r.ok and r.score == float(i), r.failure
                return time.perf_counter() - t

            sandboxed(0)
            bare(root, 0)
            # One at a time, alternating, so load from elsewhere hits both alike; the pool
            # refills between evaluations as it would between LLM calls.
            in_box, on_host = [], []
            for i in range(args.n):
                if hasattr(be, "pool"):
                    be.pool.wait_idle(60)
                on_host.append(bare(root, i))
                in_box.append(sandboxed(i))
            with ThreadPoolExecutor(args.workers) as pool:
                t = time.perf_counter()
                list(pool.map(sandboxed, range(args.n)))
                evals_per_s = args.n / (time.perf_counter() - t)
                t = time.perf_counter()
                list(pool.map(lambda i: bare(root, i), range(args.n)))
                bare_per_s = args.n / (time.perf_counter() - t)
    print(
        json.dumps(
            {
                "backend": args.backend,
                "n": args.n,
                "workers": args.workers,
                "overhead_ms_p50": round(ms(in_box) - ms(on_host), 1),
                "evals_per_s": round(evals_per_s, 2),
                "ratio": round(statistics.median(in_box) / statistics.median(on_host), 2),
                "sandbox_ms_p50": ms(in_box),
                "bare_ms_p50": ms(on_host),
                "bare_evals_per_s": round(bare_per_s, 2),
                "load_avg_1m": round(load_avg, 2),
            }
        )
    )


if __name__ == "__main__":
    main()

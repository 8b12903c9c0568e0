"""Start-up time of the CLI: `dgm --help`, `dgm runs` and `dgm archive list RUN`.

Prints ONE JSON line with the median wall time of each (`help_s_p50`, `runs_s_p50`,
`archive_list_s_p50`; target <= 0.3 s each) and of a bare `python -c pass`
(`python_s_p50`), the floor no command can go under. The `*_cpu_s_p50` keys are the
processes' CPU time (user + system): on a busy machine wall time grows with the load
(`load_avg_1m`), CPU time much less. Each command runs as a new process,
as a user types it, on a SQLite archive in a temporary directory holding one run of
`--agents` agents.

Warm disk means warm caches too: the commands run after `--warmup` untimed runs, with
bytecode caching on (PYTHONDONTWRITEBYTECODE dropped, the .pyc files kept under a
PYTHONPYCACHEPREFIX in the temp dir, so nothing is written into the installed tree). A
virtualenv installed without compiled bytecode would otherwise recompile every imported
module on every start.

Run: ``python -m benchmarks.perf.cli_startup [--repeat N] [--warmup N] [--agents N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENTRY = "import sys; from dgm.cli import main; sys.argv[0] = 'dgm'; main()"
ROOT = Path(__file__).resolve().parents[2]


def make_archive(path: Path, n_agents: int) -> str:
    """One run with a chain of evaluated agents; returns the run id."""
    from archive import open_archive

    with open_archive(path, create=True) as store:
        run_id = store.create_run("startup", config={}, seed=0)
        parent: str | None = None
        for i in range(n_agents):
            files = {"agent/__main__.py": f"print({i})\n".encode()}
            parent = store.add_agent(run_id, files, parent_id=parent)
        return run_id


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of `argv`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[3:])} failed ({proc.returncode}): {proc.stderr.strip()}")
    return elapsed, cpu


def median_times(
    argv: list[str], env: dict[str, str], cwd: Path, repeat: int, warmup: int
) -> tuple[float, float]:
    """Median wall and CPU seconds over `repeat` runs, after `warmup` untimed ones."""
    for _ in range(warmup):
        timed(argv, env, cwd)
    runs = [timed(argv, env, cwd) for _ in range(repeat)]
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--agents", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dgm-cli-startup-") as tmp:
        db = Path(tmp) / "archive.db"
        run_id = make_archive(db, args.agents)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pyc")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env["DGM_ARCHIVE"] = str(db)
        dgm = [sys.executable, "-c", ENTRY]
        cases = {
            "python_s_p50": [sys.executable, "-c", "pass"],
            "help_s_p50": [*dgm, "--help"],
            "runs_s_p50": [*dgm, "runs"],
            "archive_list_s_p50": [*dgm, "archive", "list", run_id[:6]],
        }
        out: dict[str, object] = {
            "benchmark": "cli_startup",
            "agents": args.agents,
            "repeat": args.repeat,
        }
        for key, argv in cases.items():
            wall, cpu = median_times(argv, env, Path(tmp), args.repeat, args.warmup)
            out[key] = round(wall, 3)
            out[key.replace("_s_p50", "_cpu_s_p50")] = round(cpu, 3)
    out["load_avg_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

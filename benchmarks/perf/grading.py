"""What the sandbox costs a grading: sandboxed grading time vs the same tests run bare.

Prints ONE JSON line: `tasks`, `grade_s_p50` (median wall time of one grading in the
Docker sandbox: take a fresh sandbox, copy the repo in, apply the model and test patches,
run the tests, parse, clean up), `bare_s_p50` (median wall time of the same patches
applied and the same test command run directly on the host, in a copy of the repo), and
`ratio` = grade_s_p50 / bare_s_p50. Target: ratio <= 1.5.

Each task's repository is built once, outside both timings. Gradings run one at a time,
the way a one-worker evaluation runs, with the backend's warm pool refilling in the
background. Bare runs use the host's Python and pytest (third-party plugin autoload off,
as in the image), which are not the sandbox's: the comparison is of the whole path, not of
identical interpreters. `gold_resolved` counts gradings whose gold patch resolved; the
timing does not depend on it.

Run: ``python -m benchmarks.perf.grading [--tasks N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.grading import grade, test_command
from benchmarks.swe_mini import build
from benchmarks.task import Task
from sandbox import open_backend


def bare_run(task: Task, repo: Path, work: Path) -> float:
    """Apply gold + test patch in a fresh copy of `repo` and run the tests on the host."""
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(repo, work)
    # no third-party pytest plugins: the host venv has many, the sandbox image none, and
    # loading them would flatter the sandbox
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    start = time.perf_counter()
    for diff in (task.patch, task.test_patch):
        subprocess.run(
            ["git", "apply", "-"], cwd=work, input=diff, text=True, check=True, capture_output=True
        )
    cmd = test_command(task).replace("python ", f"{sys.executable} ", 1)
    subprocess.run(["bash", "-c", cmd], cwd=work, env=env, capture_output=True, text=True)
    return time.perf_counter() - start


def spread(tasks: list[Task], n: int) -> list[Task]:
    """n tasks taken round-robin over the repositories, so every repo's test suite counts."""
    by_repo: dict[str, list[Task]] = {}
    for t in tasks:
        by_repo.setdefault(t.repo, []).append(t)
    queues = list(by_repo.values())
    picked: list[Task] = []
    while len(picked) < n and any(queues):
        for q in queues:
            if q and len(picked) < n:
                picked.append(q.pop(0))
    return picked


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--tasks",
        type=int,
        default=8,
        help="how many swe-mini tasks (round-robin over the repositories)",
    )
    ap.add_argument("--repeat", type=int, default=2, help="timings per task, each way")
    args = ap.parse_args()
    tasks = spread(build.load_tasks(), args.tasks)
    grade_times: list[float] = []
    bare_times: list[float] = []
    resolved = 0
    with (
        tempfile.TemporaryDirectory(prefix="dgm-perf-grading-") as tmp,
        open_backend("docker", run_label="perf-grading") as backend,
    ):
        repos = {}
        for t in tasks:
            repos[t.instance_id] = Path(tmp) / t.instance_id
            build.build_repo(t, repos[t.instance_id])
        backend.warm()  # type: ignore[attr-defined]  # Docker's pool: full before the first timing, as in a running evaluation
        for t in tasks:
            for _ in range(args.repeat):
                start = time.perf_counter()
                result = grade(t, t.patch, backend, repo_dir=repos[t.instance_id])
                grade_times.append(time.perf_counter() - start)
                resolved += result.resolved
                bare_times.append(bare_run(t, repos[t.instance_id], Path(tmp) / "bare"))
    g, b = statistics.median(grade_times), statistics.median(bare_times)
    print(
        json.dumps(
            {
                "tasks": len(tasks),
                "gradings": len(grade_times),
                "gold_resolved": resolved,
                "grade_s_p50": round(g, 3),
                "bare_s_p50": round(b, 3),
                "ratio": round(g / b, 2),
                "target_ratio": 1.5,
                "load_avg_1m": round(
                    os.getloadavg()[0], 2
                ),  # a shared machine's load skews both timings
            }
        )
    )


if __name__ == "__main__":
    main()

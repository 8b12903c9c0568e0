"""How the archive scales: `python -m benchmarks.perf.archive_scale --agents N`.

Builds a synthetic run through the public archive API and prints ONE JSON line with
`agents`, `insert_agents_per_s`, `select_stats_ms_p50`, `tree_render_s`, `bytes_per_child`
and a breakdown. Targets at N=100000: select stats <= 50 ms p50, tree render <= 5 s,
bytes per child <= 2 KB.

The synthetic run (a model, stated so the numbers can be judged):
- The seed agent is 200 Python files of 20-250 lines (about 1.2 MB), generated from a
  vocabulary so they compress like real code (about 4x).
- Each child changes one line of one file of its parent; 80% of edits go to 10 "hot"
  files (the agent's loop and tools), the rest anywhere.
- Parents: half from the 100 best-scoring agents so far, half from the 1000 most recent
  (a score-biased selector with exploration), so lineages grow deep as in long runs.
- Every agent gets 60 evaluations (one per task, stage "full"), recorded in one
  `record_evaluations` call; each resolves with the agent's hidden skill. Per-test status
  follows the outcome. Patches come from 6 variants per task (agents converge on a few
  fixes); logs are pytest output of that task, patch variant, outcome and a run time with
  50 possible values, so some logs repeat and dedupe and most are distinct. Trajectories
  are left out: they are unique per evaluation and typically 10-100 KB, so they would
  dominate any store; they are stored compressed like other blobs.
- Then the score and status are set, as the engine does.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.progress import Progress

from archive import Archive, open_archive

WORDS = (
    "agent tool state result message patch repo path line text query model token cost step "
    "limit error retry output stream config parse render apply check test runner buffer "
    "window context prompt value index count total score item node child parent"
).split()
N_TASKS = 60


def make_file(rng: random.Random, i: int) -> bytes:
    out = [
        f'"""{rng.choice(WORDS).title()} {rng.choice(WORDS)} handling for the agent ({i})."""',
        "",
    ]
    out += [
        f"from agent.{rng.choice(WORDS)} import {rng.choice(WORDS)}_{rng.choice(WORDS)}"
        for _ in range(3)
    ]
    out.append("")
    for f in range(rng.randint(2, 25)):
        a, b = rng.sample(WORDS, 2)
        out.append(f"def {a}_{b}_{f}({rng.choice(WORDS)}, {rng.choice(WORDS)}=None):")
        out.append(f'    """Return the {a} of the {b}."""')
        for _ in range(rng.randint(2, 8)):
            x, y, z = rng.sample(WORDS, 3)
            out.append(
                f"    {x} = {y}.get({z!r}, {rng.randint(0, 99)})"
                if rng.random() < 0.5
                else f"    if {x} > {rng.randint(0, 9)}: {y}.append({z})"
            )
        out.append(f"    return {rng.choice(WORDS)}")
        out.append("")
    return "\n".join(out).encode()


def edit_one_line(rng: random.Random, data: bytes, n: int) -> bytes:
    lines = data.split(b"\n")
    i = rng.randrange(3, len(lines))
    lines[i] = (
        lines[i] + f"  # tuned {n}".encode() if lines[i].strip() else f"    x_{n} = {n}".encode()
    )
    return b"\n".join(lines)


@functools.cache
def make_tests(task: int, resolved: bool) -> dict[str, str]:
    fail_to_pass = [f"tests/test_t{task}.py::test_issue_{k}" for k in range(1 + task % 3)]
    pass_to_pass = [f"tests/test_t{task}.py::test_keeps_{k}" for k in range(5 + task % 15)]
    status = "PASSED" if resolved else "FAILED"
    return {**{t: status for t in fail_to_pass}, **{t: "PASSED" for t in pass_to_pass}}


@functools.cache
def make_patch(task: int, variant: int) -> str:
    return (
        f"diff --git a/src/mod{task}.py b/src/mod{task}.py\n--- a/src/mod{task}.py\n+++ b/src/mod{task}.py\n"
        f"@@ -{10 + variant},6 +{10 + variant},7 @@ def handle_{task}(value):\n"
        "     if value is None:\n         return default\n"
        f"-    total = compute(value, {variant})\n+    total = compute(value, {variant + 1})\n"
        f"+    total = clamp(total, 0, {100 * variant})\n     return total\n"
    )


@functools.cache
def make_logs(task: int, variant: int, resolved: bool, seconds: float) -> str:
    tests = make_tests(task, resolved)
    head = (
        "============================= test session starts ==============================\n"
        "platform linux -- Python 3.11.7, pytest-8.3.4, pluggy-1.5.0\n"
        f"rootdir: /testbed\ncollected {len(tests)} items\n\n"
    )
    body = "".join(f"{name} {status}\n" for name, status in tests.items())
    failed = sum(s == "FAILED" for s in tests.values())
    tail = (
        "\n=========================== short test summary info ============================\n"
        + "".join(
            f"FAILED {n} - AssertionError: expected {variant}\n"
            for n, s in tests.items()
            if s == "FAILED"
        )
        + f"========== {failed} failed, {len(tests) - failed} passed in {seconds:.2f}s ==========\n"
    )
    return head + body + tail


def evaluations(rng: random.Random, skill: float) -> list[dict[str, Any]]:
    out = []
    for task in range(N_TASKS):
        resolved = rng.random() < skill * (0.3 + 1.4 * ((task * 7919) % 100) / 100)
        variant = rng.randrange(6)
        tests = make_tests(task, resolved)
        seconds = 0.5 + rng.randrange(50) / 10
        out.append(
            dict(
                task_id=f"ledgerly__ledgerly-{task}",
                attempt=0,
                stage="full",
                resolved=resolved,
                score=1.0 if resolved else 0.0,
                tests=tests,
                duration_s=seconds * 3,
                patch=make_patch(task, variant),
                logs=make_logs(task, variant, resolved, seconds),
            )
        )
    return out


def build(archive: Archive, n: int, seed: int, progress: Progress) -> tuple[str, float]:
    """Grow the synthetic run; returns the run id and seconds spent inside add_agent."""
    rng = random.Random(seed)
    run = archive.create_run("archive-scale", config={"agents": n, "seed": seed}, seed=seed)
    files = {f"agent/{rng.choice(WORDS)}_{i:03d}.py": make_file(rng, i) for i in range(200)}
    paths = sorted(files)
    hot = paths[:10]
    t0 = time.perf_counter()
    root = archive.add_agent(run, files)
    add_s = time.perf_counter() - t0
    pool: dict[str, tuple[dict[str, bytes], float]] = {root: (files, 0.3)}
    recent: list[str] = [root]
    best: list[tuple[float, str]] = [(0.3, root)]
    task = progress.add_task("agents", total=n)
    for i in range(n):
        if i:
            parent = rng.choice(best)[1] if rng.random() < 0.5 else rng.choice(recent)
            parent_files, parent_skill = pool[parent]
            path = rng.choice(hot) if rng.random() < 0.8 else rng.choice(paths)
            child_files = dict(parent_files)
            child_files[path] = edit_one_line(rng, parent_files[path], i)
            skill = min(0.95, max(0.02, parent_skill + rng.gauss(-0.01, 0.04)))
            t0 = time.perf_counter()
            agent = archive.add_agent(
                run,
                child_files,
                parent_id=parent,
                operator="self_modify",
                origin={
                    "task": f"ledgerly__ledgerly-{rng.randrange(N_TASKS)}",
                    "diagnosis": "empty patch: the edit tool was not used",
                },
            )
            add_s += time.perf_counter() - t0
        else:
            agent, child_files, skill = root, files, 0.3
        evals = evaluations(rng, skill)
        archive.record_evaluations(agent, evals)
        score = sum(e["resolved"] for e in evals) / N_TASKS
        archive.set_agent_score(agent, "full", score)
        archive.set_agent_status(agent, "evaluated")
        pool[agent] = (child_files, skill)
        recent.append(agent)
        best.append((score, agent))
        if len(best) > 200:
            best = sorted(best, reverse=True)[:100]
        if len(recent) > 1000:
            recent = recent[-1000:]
        keep = set(recent) | {a for _, a in best}
        if len(pool) > 3000:
            pool = {a: v for a, v in pool.items() if a in keep}
        progress.advance(task)
        if not progress.console.is_terminal and (i + 1) % 2000 == 0:
            print(f"{i + 1} agents, {add_s:.0f}s in add_agent", file=sys.stderr, flush=True)
    return run, add_s


def table_bytes(db: Path) -> dict[str, int]:
    """Bytes per table (indexes counted with their table), when SQLite has dbstat."""
    try:
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
            idx = dict(
                conn.execute(
                    "SELECT name, tbl_name FROM sqlite_master WHERE type='index'"
                ).fetchall()
            )
    except sqlite3.Error:
        return {}
    out: dict[str, int] = {}
    for name, size in rows:
        table = idx.get(name, name)
        out[table] = out.get(table, 0) + int(size)
    return out


def blob_split(db: Path) -> dict[str, int]:
    """Compressed blob bytes: those evaluations point at, and the rest (code, origins...)."""
    with sqlite3.connect(db) as conn:
        evals = conn.execute(
            "SELECT COALESCE(SUM(length(data)), 0) FROM blobs WHERE pk IN ("
            " SELECT patch_pk FROM evaluations UNION SELECT logs_pk FROM evaluations"
            " UNION SELECT tests_pk FROM evaluations UNION SELECT trajectory_pk FROM evaluations)"
        ).fetchone()[0]
        total = conn.execute("SELECT COALESCE(SUM(length(data)), 0) FROM blobs").fetchone()[0]
    return {"evaluation_blobs": int(evals), "code_and_other_blobs": int(total - evals)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeat", type=int, default=21, help="candidate_stats calls timed (the first is cold)"
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="where the archive goes [default: a temp dir, removed]",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="measure the archive already in --dir, do not build"
    )
    parser.add_argument(
        "--durable", action="store_true", help="build with durable=True (an fsync per commit)"
    )
    args = parser.parse_args()
    from typer.testing import CliRunner

    from dgm.cli import app

    workdir = args.dir or Path(tempfile.mkdtemp(prefix="dgm-archive-scale-"))
    db = workdir / "archive.db"
    if db.exists() and not args.reuse:
        raise SystemExit(f"{db} exists: pass an empty --dir, or --reuse to measure it")
    archive = open_archive(db, create=not args.reuse, durable=args.durable)
    add_s = build_s = None
    if args.reuse:
        run = archive.resolve_run("archive-scale")
    else:
        started = time.perf_counter()
        with Progress(transient=True) as progress:
            run, add_s = build(archive, args.agents, args.seed, progress)
        build_s = time.perf_counter() - started

    timings = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        stats = archive.candidate_stats(run)
        timings.append((time.perf_counter() - t0) * 1000)
    assert args.reuse or len(stats) == args.agents
    args.agents = len(stats)

    t0 = time.perf_counter()
    result = CliRunner().invoke(app, ["archive", "tree", run, "--archive", str(db)])
    tree_s = time.perf_counter() - t0
    assert result.exit_code == 0, result.output
    archive.close()

    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = db.stat().st_size + (
        Path(f"{db}-wal").stat().st_size if Path(f"{db}-wal").exists() else 0
    )
    per_table = table_bytes(db)
    out = {
        "agents": args.agents,
        "files_per_agent": 200,
        "evaluations_per_agent": N_TASKS,
        "insert_agents_per_s": round(args.agents / add_s, 1) if add_s else None,
        "build_agents_per_s": round(args.agents / build_s, 1) if build_s else None,
        "select_stats_ms_p50": round(statistics.median(timings), 2),
        "select_stats_cold_ms": round(timings[0], 2),
        "tree_render_s": round(tree_s, 3),
        "tree_lines": len(result.output.splitlines()),
        "bytes_per_child": round(size / args.agents, 1),
        "bytes_per_child_by_table": {
            k: round(v / args.agents, 1) for k, v in sorted(per_table.items())
        },
        "blob_data_bytes_per_child": {
            k: round(v / args.agents, 1) for k, v in blob_split(db).items()
        },
        "db_bytes": size,
        "durable": args.durable,
    }
    print(json.dumps(out))
    if args.dir is None:
        for p in list(workdir.iterdir()):
            p.unlink()
        os.rmdir(workdir)


if __name__ == "__main__":
    main()

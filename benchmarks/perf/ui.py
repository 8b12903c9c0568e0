"""How fast the web UI answers at scale: `python -m benchmarks.perf.ui --agents N`.

Builds the archive_scale synthetic run (see benchmarks/perf/archive_scale.py; or measures
an existing one with --dir D --reuse), serves it with `dgm ui`'s server on a free port,
and times real HTTP requests. Prints ONE JSON line; the keys the issue asks for:
- `run_page_ms_p50`: the run page's full response (summary, progress chart over every
  agent, what is running, cost, failures); target <= 300 ms at 100k agents;
- `tree_ms_p50`: the tree data for the visible level (`/api/runs/R/tree`); target <= 500;
- `agent_page_ms_p50`: an agent page (lineage, origin, scores per task, LLM calls), a
  different agent each time; target <= 200.
With `--grow-to M`, the built run is then copied inside the database (SQL, seconds) until
it has M agents: each copy is a subtree of the generator's run hung under its seed, with
the same code, evaluations and scores under new ids. Building 100k agents through the
API takes hours on a busy 2-core machine; the pages read rows, so copies measure the same.
Also: cold figures (a fresh server, not warmed as `dgm ui` warms its newest runs at start:
the run page, then the tree, as a browser asks); `tree_rebuild_ms`, the first view rebuilt from
`candidate_stats` (what a live run's change costs: the server does it in the background
and keeps serving the previous view meanwhile); `tree_rebuild_min_ms`, the same rebuild as
if the run were a 'min' problem (raw labels, every scored agent ranked for its colour);
`tree_index_ms`, the index built on a run's first expansion; expanding the root, a diff
page and the runs page.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from rich.progress import Progress

from archive import open_archive
from benchmarks.perf import archive_scale
from dgm.ui import make_server, treedata


def timed_get(port: int, path: str) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    t0 = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    ms = (time.perf_counter() - t0) * 1000
    conn.close()
    if r.status != 200:
        raise SystemExit(f"GET {path} answered {r.status}: {body[:200]!r}")
    return ms


def grow(db: Path, run_name: str, target: int) -> int:
    """Copy the run's agents (and their evaluations) under its seed until it has `target`
    agents; returns how many it has."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    run_pk = conn.execute("SELECT pk FROM runs WHERE name = ?", (run_name,)).fetchone()[0]
    n0, last_pk = conn.execute(
        "SELECT count(*), max(pk) FROM agents WHERE run_pk = ?", (run_pk,)
    ).fetchone()
    seed = conn.execute(
        "SELECT id FROM agents WHERE run_pk = ? ORDER BY pk LIMIT 1", (run_pk,)
    ).fetchone()[0]
    total = n0
    while total < target:
        take = min(n0, target - total)  # a prefix in creation order: parents come first
        seq = conn.execute(
            "SELECT max(stats_seq) FROM agents WHERE run_pk = ?", (run_pk,)
        ).fetchone()[0]
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DROP TABLE IF EXISTS temp.m")
        conn.execute(
            "CREATE TEMP TABLE m AS SELECT pk, id AS old, lower(hex(randomblob(8))) AS new FROM agents"
            " WHERE run_pk = ? AND pk <= ? ORDER BY pk LIMIT ?",
            (run_pk, last_pk, take),
        )
        conn.execute("CREATE INDEX temp.m_old ON m(old)")
        conn.execute(
            "INSERT INTO agents (id, run_pk, parent_id, second_parent_id, generation, operator, status,"
            " reason, score, scores, n_children, n_evaluated, n_resolved, cost_usd, manifest_pk, origin_pk,"
            " files_changed, lines_added, lines_removed, created_at, stats_seq)"
            " SELECT m.new, a.run_pk, COALESCE(mp.new, ?), NULL, a.generation + 1, a.operator, a.status,"
            " a.reason, a.score, a.scores, a.n_children, a.n_evaluated, a.n_resolved, a.cost_usd,"
            " a.manifest_pk, a.origin_pk, a.files_changed, a.lines_added, a.lines_removed, a.created_at,"
            " a.stats_seq + ? FROM m JOIN agents a ON a.pk = m.pk LEFT JOIN m AS mp ON mp.old = a.parent_id"
            " ORDER BY a.pk",
            (seed, seq),
        )
        conn.execute(
            "INSERT INTO evaluations SELECT na.pk, e.seq, e.task_pk, e.attempt, e.stage, e.resolved,"
            " e.score, e.duration_ms, e.error_kind, e.tests_pk, e.patch_pk, e.logs_pk, e.trajectory_pk"
            " FROM m JOIN agents na ON na.id = m.new JOIN evaluations e ON e.agent_pk = m.pk"
        )
        conn.execute("COMMIT")
        total += take
        print(f"grown to {total} agents", file=sys.stderr, flush=True)
    conn.close()
    return total


def after_warm_up(db: Path, run: str) -> tuple[float, float]:
    """The first run page and tree of a new server once its start-up warming is done (what
    `dgm ui` gives a person who opens the browser a few seconds after starting it)."""
    archive = open_archive(db, read_only=True)
    server = make_server(archive, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    while not server.app.trees.cached(run):
        time.sleep(0.05)
    port = server.server_address[1]
    out = timed_get(port, f"/runs/{run}"), timed_get(port, f"/api/runs/{run}/tree")
    server.shutdown()
    server.server_close()
    archive.close()
    return out


def p50(xs: list[float]) -> float:
    return round(statistics.median(xs), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=21)
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
        "--grow-to", type=int, default=None, help="copy the run by SQL up to this many agents"
    )
    args = parser.parse_args()
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="dgm-ui-perf-"))
    db = workdir / "archive.db"
    if not args.reuse:
        if db.exists():
            raise SystemExit(f"{db} exists: pass an empty --dir, or --reuse to measure it")
        with open_archive(db) as builder, Progress(transient=True) as progress:
            archive_scale.build(builder, args.agents, args.seed, progress)

    grown = grow(db, "archive-scale", args.grow_to) if args.grow_to else None
    archive = open_archive(db, read_only=True)
    run = archive.resolve_run("archive-scale")
    server = make_server(archive, "127.0.0.1", 0, warm=False)  # cold means cold
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    # What a person sees first: the run page, then the tree its script asks for at once.
    first_run_ms = timed_get(port, f"/runs/{run}")
    first_tree_ms = timed_get(port, f"/api/runs/{run}/tree")
    stats = archive.candidate_stats(run)
    rng = random.Random(args.seed)
    sample = [s.agent_id for s in rng.sample(list(stats), min(args.repeat, len(stats)))]
    run_ms = [timed_get(port, f"/runs/{run}") for _ in range(args.repeat)]
    tree_ms = [timed_get(port, f"/api/runs/{run}/tree") for _ in range(args.repeat)]
    t0 = time.perf_counter()
    treedata.build(stats)
    rebuild_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    treedata.build(stats, "min")
    rebuild_min_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    treedata.make_index(stats)
    index_ms = (time.perf_counter() - t0) * 1000
    root = stats[0].agent_id
    expand_ms = [timed_get(port, f"/api/runs/{run}/tree?node={root}") for _ in range(5)]
    agent_ms = [timed_get(port, f"/agents/{a}") for a in sample]
    diff_ms = [timed_get(port, f"/agents/{a}/diff") for a in sample[:5]]
    runs_ms = [timed_get(port, "/runs") for _ in range(5)]
    server.shutdown()
    server.server_close()
    archive.close()
    warmed_run_ms, warmed_tree_ms = after_warm_up(db, run)
    print(
        json.dumps(
            {
                "agents": len(stats),
                "copied_by_sql": bool(grown),
                "run_page_ms_p50": p50(run_ms),
                "run_page_cold_ms": round(first_run_ms, 1),
                "tree_ms_p50": p50(tree_ms),
                "tree_cold_ms": round(first_tree_ms, 1),
                "run_page_first_after_warm_up_ms": round(warmed_run_ms, 1),
                "tree_first_after_warm_up_ms": round(warmed_tree_ms, 1),
                "tree_rebuild_ms": round(rebuild_ms, 1),
                "tree_rebuild_min_ms": round(rebuild_min_ms, 1),
                "tree_index_ms": round(index_ms, 1),
                "tree_expand_root_ms_p50": p50(expand_ms),
                "agent_page_ms_p50": p50(agent_ms),
                "agent_page_max_ms": round(max(agent_ms), 1),
                "diff_page_ms_p50": p50(diff_ms),
                "runs_page_ms_p50": p50(runs_ms),
            }
        )
    )
    if args.dir is None:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()

"""How fast the web UI answers at scale: `python -m benchmarks.perf.ui --agents N`.

Builds the archive_scale synthetic run (see benchmarks/perf/archive_scale.py; or measures
an existing one with --dir D --reuse), serves it with `dgm ui`'s server on a free port,
and times real HTTP requests. Prints ONE JSON line; the keys the issue asks for:
- `run_page_ms_p50`: the run page's full response (summary, progress chart over every
  agent, what is running, cost, failures); target <= 300 ms at 100k agents;
- `tree_ms_p50`: the tree data for the visible level (`/api/runs/R/tree`); target <= 500;
- `agent_page_ms_p50`: an agent page (lineage, origin, scores per task, LLM calls), a
  different agent each time; target <= 200.
Also: cold (first) figures, `tree_rebuild_ms` (what the tree costs after the run changed:
the per-run index is rebuilt from `candidate_stats`), expanding the root, a diff page
and the runs page.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import shutil
import statistics
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
    args = parser.parse_args()
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="dgm-ui-perf-"))
    db = workdir / "archive.db"
    if not args.reuse:
        if db.exists():
            raise SystemExit(f"{db} exists: pass an empty --dir, or --reuse to measure it")
        with open_archive(db) as builder, Progress(transient=True) as progress:
            archive_scale.build(builder, args.agents, args.seed, progress)

    archive = open_archive(db, create=False)
    run = archive.resolve_run("archive-scale")
    server = make_server(archive, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    stats = archive.candidate_stats(run)
    rng = random.Random(args.seed)
    sample = [s.agent_id for s in rng.sample(list(stats), min(args.repeat, len(stats)))]

    run_ms = [timed_get(port, f"/runs/{run}") for _ in range(args.repeat)]
    tree_ms = [timed_get(port, f"/api/runs/{run}/tree") for _ in range(args.repeat)]
    t0 = time.perf_counter()
    treedata.build(stats)
    rebuild_ms = (time.perf_counter() - t0) * 1000
    root = stats[0].agent_id
    expand_ms = [timed_get(port, f"/api/runs/{run}/tree?node={root}") for _ in range(5)]
    agent_ms = [timed_get(port, f"/agents/{a}") for a in sample]
    diff_ms = [timed_get(port, f"/agents/{a}/diff") for a in sample[:5]]
    runs_ms = [timed_get(port, "/runs") for _ in range(5)]
    server.shutdown()
    server.server_close()
    archive.close()
    print(
        json.dumps(
            {
                "agents": len(stats),
                "run_page_ms_p50": p50(run_ms[1:]),
                "run_page_cold_ms": round(run_ms[0], 1),
                "tree_ms_p50": p50(tree_ms[1:]),
                "tree_cold_ms": round(tree_ms[0], 1),
                "tree_rebuild_ms": round(rebuild_ms, 1),
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

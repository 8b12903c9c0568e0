"""Several threads and several processes writing one archive at once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from archive import Archive, LLMCallRecord, open_archive

# Several writer processes, each waiting up to 300 s for the others: more than the default.
pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[2]

WORKER = textwrap.dedent(
    """
    import sys
    from archive import open_archive
    url, run, parent, tag = sys.argv[1:5]
    a = open_archive(url)  # the first open of a new archive races with the other process
    if run == "-":
        run = a.create_run("proc-" + tag)
        parent = a.add_agent(run, {"a.py": b"seed"})
    for i in range(15):
        child = a.add_agent(run, {"a.py": f"{tag} {i}".encode()}, parent_id=parent)
        a.record_evaluation(parent, f"task-{tag}-{i}", 0, "small", i % 2 == 0, None, {}, 0.1)
        a.append_event(run, "child", {"tag": tag, "i": i})
    print(run)
    """
)


def run_workers(url: str, run: str, parent: str, n: int) -> list[str]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, run, parent, f"p{k}"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(n)
    ]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        outs.append(out.strip())
    return outs


def test_threads_share_one_archive(archive: Archive) -> None:
    run = archive.create_run("r")
    parent = archive.add_agent(run, {"a.py": b"seed"})

    def work(tag: int) -> list[str]:
        made = []
        for i in range(10):
            made.append(archive.add_agent(run, {"a.py": f"{tag}-{i}".encode()}, parent_id=parent))
            archive.record_evaluation(parent, f"t{tag}", i, "small", True, 1.0, {}, 0.1)
            archive.record_llm_call(
                LLMCallRecord(
                    run, parent, None, "mutate", "m", 1, 1, 0.01, 0.1, b"q", b"r", None, f"k{tag}"
                )
            )
        return made

    with ThreadPoolExecutor(4) as pool:
        made = [a for batch in pool.map(work, range(4)) for a in batch]
    assert len(set(made)) == 40
    info = archive.agent(parent)
    assert (info.n_children, info.n_evaluated, info.n_resolved) == (40, 40, 40)
    assert info.cost_usd == sum([0.01] * 40)
    assert sorted(e.seq for e in archive.evaluations(parent)) == list(range(1, 41))


def test_processes_share_one_archive(archive_url: str) -> None:
    with open_archive(archive_url) as a:
        run = a.create_run("r")
        parent = a.add_agent(run, {"a.py": b"seed"})
    run_workers(archive_url, run, parent, 2)
    with open_archive(archive_url) as a:
        info = a.agent(parent)
        assert (info.n_children, info.n_evaluated, info.n_resolved) == (31 - 1, 30, 16)
        assert sorted(e.seq for e in a.evaluations(parent)) == list(range(1, 31))
        assert len(a.events(run, kinds=["child"])) == 30


def test_processes_create_a_new_archive_at_once(archive_url: str) -> None:
    # Nobody has opened this archive yet: both processes create and migrate it together.
    runs = run_workers(archive_url, "-", "-", 2)
    with open_archive(archive_url) as a:
        assert {r.id for r in a.runs()} == set(runs)
        for run in runs:
            assert len(a.agents(run)) == 16


def test_no_one_sees_a_half_migrated_archive(tmp_path: Path) -> None:
    """All migrations of a first open commit together: an opener arriving meanwhile (the
    LLM-call writer, a test polling for the run) sees no archive or a whole one, never a
    schema between two migrations that it would migrate too, racing the creator."""
    import sqlite3

    from archive.schema import HEAD

    db = tmp_path / "a.db"
    creator = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from archive import open_archive; open_archive(sys.argv[1])",
            str(db),
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: set[str | None] = set()
    while creator.poll() is None:
        if not db.exists():
            continue
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.01)
            try:
                seen.add(conn.execute("SELECT version_num FROM alembic_version").fetchone()[0])
            finally:
                conn.close()
        except (sqlite3.OperationalError, TypeError):  # no table yet, or locked
            seen.add(None)
    assert creator.returncode == 0, creator.stderr.read() if creator.stderr else ""
    assert seen <= {None, HEAD}, seen

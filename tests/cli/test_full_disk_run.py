"""The archive's disk fills under a whole `dgm run` (a small tmpfs holds the archive): the
run ends with one line naming the disk, exit 2 and no traceback; no evaluation is recorded
as an agent's failure; the archive passes SQLite's integrity check; once there is room,
`dgm run --resume` completes the run with every program scored exactly once."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
import yaml

from archive import Archive, open_archive
from tests.disks import fill, small_disk
from tests.processes import DGM, Deadline, dgm_process, wait_for_archive

pytestmark = [pytest.mark.mounts, pytest.mark.bwrap, pytest.mark.slow, pytest.mark.timeout(600)]

ITERATIONS = 6
PROBLEM = {
    "problem.yaml": "name: num\nprogram: [program.py]\nevaluator: {module: evaluator.py}\n"
    "direction: max\ntimeout_s: 60\n",
    "program.py": "def solve():\n    return 1.0\n",
    # A second per evaluation: the disk fills while the run is busy.
    "evaluator.py": "import importlib.util, time\n\ndef evaluate(path):\n"
    "    time.sleep(1)\n"
    "    spec = importlib.util.spec_from_file_location('c', path)\n"
    "    m = importlib.util.module_from_spec(spec)\n    spec.loader.exec_module(m)\n"
    "    return {'score': m.solve()}\n",
}


def script() -> list[dict[str, str]]:
    """Each program `return N.0` becomes `return N+1.0`: answered by pattern, so a resumed
    process (its script read afresh) answers the same."""
    return [
        {
            "pattern": rf"return {n}\.0\b",
            "content": f"problem/program.py\n<<<<<<< SEARCH\n    return {n}.0\n=======\n"
            f"    return {n + 1}.0\n>>>>>>> REPLACE\n",
        }
        for n in range(1, ITERATIONS + 2)
    ]


def scored(archive: Archive) -> int:
    runs = archive.runs()
    agents = archive.agents(runs[0].id) if runs else []
    return sum(a.status == "evaluated" for a in agents)


def test_the_disk_fills_mid_run_then_resume_completes(
    tmp_path: Path, deadline: Deadline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "1000")  # the start line unwrapped
    problem = tmp_path / "num"
    problem.mkdir()
    for name, text in PROBLEM.items():
        (problem / name).write_text(text)
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(script()))
    with small_disk(tmp_path / "disk", size_mb=8) as disk:
        db = disk / "a.db"
        args = [
            *("run", "--problem", str(problem), "--operator", "diff", "--selector", "best"),
            *("--model", f"scripted:{tmp_path / 'model.yaml'}", "--sandbox", "local"),
            *("--max-iterations", str(ITERATIONS), "--workers", "1", "--quiet"),
            *("--archive", str(db)),
        ]
        with dgm_process(args, tmp_path) as proc:
            wait_for_archive(db, lambda a: scored(a) >= 2, "two programs scored", proc, deadline)
            ballast = fill(disk)
            _, err = proc.communicate(timeout=deadline.left(120))
        assert proc.returncode == 2, err
        assert "Traceback" not in err, err
        said = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("run ")]
        full = f"the disk holding {db} (mounted at {disk}) is full"
        assert said[-1].startswith(f"error: archive error: {full}"), err
        assert "dgm run --resume" in said[-1]
        # at most one other line: the LLM call writer saying once that its records wait
        assert len(said) <= 2 and all(full in line for line in said), err

        ballast.unlink()  # room again
        conn = sqlite3.connect(db)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        finally:
            conn.close()
        with open_archive(db, create=False) as archive:
            (run,) = archive.runs()
            before = {a.id: a.score for a in archive.agents(run.id) if a.status == "evaluated"}
            kinds = [
                e.error_kind for a in archive.agents(run.id) for e in archive.evaluations(a.id)
            ]
        assert 2 <= len(before) <= ITERATIONS and kinds == [None] * len(kinds), kinds

        resumed = subprocess.run(
            [str(DGM), "run", "--resume", run.id, "--quiet", "--archive", str(db)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=deadline.left(30),
        )
        assert resumed.returncode == 0, resumed.stderr
        with open_archive(db, create=False) as archive:
            assert archive.run(run.id).status == "finished"
            agents = archive.agents(run.id)
            evaluations = [archive.evaluations(a.id) for a in agents]
            assert {a.id: a.score for a in agents if a.id in before} == before, "nothing lost"
            assert [len(e) for e in evaluations] == [1] * (ITERATIONS + 1), "each scored once"
            assert sorted(a.score for a in agents) == [float(n) for n in range(1, ITERATIONS + 2)]

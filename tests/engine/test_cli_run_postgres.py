"""`dgm run`, `--resume`, `dgm runs` and `dgm archive` on a PostgreSQL archive, end to end in
the real Docker sandbox (the scripted setup of test_cli_run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive import open_archive
from tests.engine.test_cli_run import TEST_TASKS, dgm, write_setup

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(900)]


def test_a_run_stopped_by_its_budget_resumes_and_finishes_on_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    config = write_setup(tmp_path, iterations=1, workers=1)
    n = len(TEST_TASKS)
    first = dgm(
        "run",
        str(config),
        "--archive",
        postgres_url,
        "--max-evaluations",
        "2",
        "--quiet",
        cwd=tmp_path,
    )
    assert first.returncode == 0, first.stderr
    archive = open_archive(postgres_url, create=False)
    (run,) = archive.runs()
    assert run.status == "stopped"
    before = [(a.id, e.task_id) for a in archive.agents(run.id) for e in archive.evaluations(a.id)]
    assert len(before) == 2

    resumed = dgm(
        "run",
        "--resume",
        run.id[:6],
        "--archive",
        postgres_url,
        "--max-evaluations",
        "100",
        "--quiet",
        cwd=tmp_path,
    )
    assert resumed.returncode == 0, resumed.stderr
    agents = archive.agents(run.id)
    pairs = [(a.id, e.task_id) for a in agents for e in archive.evaluations(a.id)]
    assert pairs[:2] == before and len(pairs) == len(set(pairs)) == 2 * n
    assert [a.score for a in agents] == [0.0, 1.0]
    assert archive.run(run.id).status == "finished"

    listed = dgm("runs", "--archive", postgres_url, cwd=tmp_path)
    assert listed.returncode == 0 and run.id[:8] in listed.stdout and "finished" in listed.stdout
    best = dgm("archive", "best", run.id[:6], "--archive", postgres_url, cwd=tmp_path)
    assert best.returncode == 0 and agents[1].id in best.stdout
    archive.close()

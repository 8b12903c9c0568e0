"""One owner per run, end to end: N `dgm run --resume RUN` started at the same instant on a
stopped run, on a SQLite and on a PostgreSQL archive. Real processes, the real Docker
sandbox, the scripted model of test_cli_run."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from archive import open_archive
from tests.engine.test_cli_run import DGM, TEST_TASKS, dgm, write_setup

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(300)]

# Waits for the start signal (a file), then becomes `dgm ...` under the same pid.
AT_THE_SIGNAL = """
import os, sys, time
while not os.path.exists(sys.argv[1]):
    time.sleep(0.005)
os.execv(sys.argv[2], sys.argv[2:])
"""


@pytest.fixture(params=["sqlite", "postgres"])
def archive_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / ".dgm" / "archive.db")
    return str(request.getfixturevalue("postgres_url"))


def test_simultaneous_resumes_exactly_one_runs(tmp_path: Path, archive_url: str) -> None:
    config = write_setup(tmp_path, iterations=2, workers=2)
    data = yaml.safe_load(config.read_text())
    data["stages"] = [{"name": "small", "tasks": TEST_TASKS[:1]}]  # keeps the test short
    config.write_text(yaml.safe_dump(data))
    first = dgm(
        "run",
        str(config),
        "--archive",
        archive_url,
        "--quiet",
        "--max-evaluations",
        "1",
        cwd=tmp_path,
    )
    assert first.returncode == 0, first.stderr
    archive = open_archive(archive_url, create=False)
    (run,) = archive.runs()
    assert archive.run(run.id).status == "stopped"  # the seed was scored, no child yet

    signal_file = tmp_path / "go"
    argv = [
        str(DGM),
        "run",
        "--resume",
        run.id,
        "--archive",
        archive_url,
        "--quiet",
        "--max-evaluations",
        "100",
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", AT_THE_SIGNAL, str(signal_file), *argv],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    try:
        time.sleep(0.5)  # every process is waiting for the signal
        signal_file.touch()
        outcomes = [(p.pid, *p.communicate(timeout=600)) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    codes = [p.returncode for p in procs]
    assert sorted(codes) == [0, 2, 2, 2], outcomes
    (winner,) = [pid for (pid, _, _), code in zip(outcomes, codes, strict=True) if code == 0]
    for (_, _, err), code in zip(outcomes, codes, strict=True):
        if code == 2:
            lines = err.strip().splitlines()
            assert len(lines) == 1, err
            assert f"run {run.id} is being run right now by process {winner} on host " in lines[0]
            assert "Traceback" not in err

    agents = archive.agents(run.id)
    pairs = [(a.id, e.task_id) for a in agents for e in archive.evaluations(a.id)]
    assert len(pairs) == len(set(pairs)), "no task evaluated twice"
    assert len(agents) == 1 + 2, "no more children than max_iterations"
    assert len(pairs) == 3  # the seed, then each child, on the one task
    sessions = archive.events(run.id, kinds=["session_started"])
    assert [s.payload["resumed"] for s in sessions] == [False, True], "one resume ran"
    assert archive.run(run.id).status == "finished"
    assert archive.run_lease(run.id) is None  # released at the clean end
    archive.close()

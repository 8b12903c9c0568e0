"""The Docker engine restarts under a `dgm run`: the jobs in flight are infrastructure
errors, run again once the engine answers (a bounded number of times), never recorded as a
program's failure; the run completes. An engine that stays away stops the run, after a
bounded wait, with one line saying so, and `--resume` completes it once the engine is back.

The engine is the test's own dockerd (tests/engines.py): its own data root, exec root,
pid file and socket under the test's folder, the sandbox image loaded into it. The
machine's shared engine is never stopped."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from archive import Archive, open_archive
from tests.engines import PrivateEngine
from tests.processes import DGM, Deadline, dgm_process, wait_for_archive

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]

ITERATIONS = 4
SLEEP_S = 4  # each evaluation's length: the engine goes away while one is in flight
PROBLEM = {
    "problem.yaml": "name: num\nprogram: [program.py]\nevaluator: {module: evaluator.py}\n"
    "direction: max\ntimeout_s: 120\n",
    "program.py": "def solve():\n    return 1.0\n",
    "evaluator.py": "import importlib.util, time\n\ndef evaluate(path):\n"
    f"    time.sleep({SLEEP_S})\n"
    "    spec = importlib.util.spec_from_file_location('c', path)\n"
    "    m = importlib.util.module_from_spec(spec)\n    spec.loader.exec_module(m)\n"
    "    return {'score': m.solve()}\n",
}


@pytest.fixture
def engine() -> Iterator[PrivateEngine]:
    """The test's own dockerd with the sandbox image; stopped and removed at the end. Its
    root is a short folder of /tmp, not the test's: containerd's sockets under the exec
    root must fit a unix socket path (108 bytes), which pytest's folders overrun."""
    root = Path(tempfile.mkdtemp(prefix="eng-", dir="/tmp"))
    own = PrivateEngine(root)
    own.start()
    try:
        own.load_sandbox_image()
        yield own
    finally:
        own.stop()
        shutil.rmtree(root, ignore_errors=True)


def script(n: int) -> list[dict[str, str]]:
    return [
        {
            "pattern": rf"return {k}\.0\b",
            "content": f"problem/program.py\n<<<<<<< SEARCH\n    return {k}.0\n=======\n"
            f"    return {k + 1}.0\n>>>>>>> REPLACE\n",
        }
        for k in range(1, n + 2)
    ]


def setup(tmp_path: Path) -> list[str]:
    problem = tmp_path / "num"
    problem.mkdir()
    for name, text in PROBLEM.items():
        (problem / name).write_text(text)
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(script(ITERATIONS)))
    return [
        *("run", "--problem", str(problem), "--operator", "diff", "--selector", "best"),
        *("--model", f"scripted:{tmp_path / 'model.yaml'}", "--sandbox", "docker"),
        *("--max-iterations", str(ITERATIONS), "--workers", "1", "--quiet"),
        *("--archive", str(tmp_path / "a.db")),
    ]


def scored(archive: Archive) -> int:
    runs = archive.runs()
    agents = archive.agents(runs[0].id) if runs else []
    return sum(a.status == "evaluated" for a in agents)


def evaluations(db: Path) -> list[tuple[str, bool, float | None, str]]:
    with open_archive(db, create=False) as archive:
        (run,) = archive.runs()
        return [
            (a.id, bool(e.resolved), e.score, e.logs.decode(errors="replace")[:200])
            for a in archive.agents(run.id)
            for e in archive.evaluations(a.id)
        ]


def test_the_engine_restarts_mid_run_and_the_run_completes(
    tmp_path: Path,
    engine: PrivateEngine,
    deadline: Deadline,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", engine.host)  # for the dgm process only
    monkeypatch.setenv("COLUMNS", "1000")
    db = tmp_path / "a.db"
    with dgm_process(setup(tmp_path), tmp_path) as proc:
        wait_for_archive(db, lambda a: scored(a) >= 1, "the seed scored", proc, deadline)
        time.sleep(SLEEP_S / 2)  # the first child's evaluation is in flight
        engine.stop()
        time.sleep(3)
        engine.start()
        _, err = proc.communicate(timeout=deadline.left(120))
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    assert "failed from outside its sandbox" in err and "running it again" in err, err
    found = evaluations(db)
    assert all(ok for _, ok, _, _ in found), found
    assert len({agent for agent, *_ in found}) == len(found) == ITERATIONS + 1, found
    assert sorted(score for _, _, score, _ in found) == [float(k) for k in range(1, ITERATIONS + 2)]


def test_an_engine_that_stays_away_stops_the_run_in_one_line_and_resume_completes(
    tmp_path: Path,
    engine: PrivateEngine,
    deadline: Deadline,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", engine.host)
    monkeypatch.setenv("COLUMNS", "1000")
    db = tmp_path / "a.db"
    args = [*setup(tmp_path), "--set", "engine_wait_s=8"]
    with dgm_process(args, tmp_path) as proc:
        wait_for_archive(db, lambda a: scored(a) >= 1, "the seed scored", proc, deadline)
        time.sleep(SLEEP_S / 2)
        engine.stop()
        started = time.monotonic()
        _, err = proc.communicate(timeout=deadline.left(120))
    waited = time.monotonic() - started
    assert proc.returncode == 2, err
    assert "Traceback" not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: the sandbox engine did not answer again within 8 s"), err
    assert last.endswith("`dgm run --resume ") is False and "dgm run --resume" in last, err
    assert waited < 120, "the wait is bounded"
    before = evaluations(db)
    assert all(ok for _, ok, _, _ in before), "the job in flight is not the program's failure"
    with open_archive(db, create=False) as archive:
        (run,) = archive.runs()
        assert archive.run(run.id).status == "stopped"

    engine.start()  # back: the resume completes the run
    resumed = subprocess.run(
        [str(DGM), "run", "--resume", run.id, "--quiet", "--archive", str(db)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=deadline.left(30),
    )
    assert resumed.returncode == 0, resumed.stderr
    found = evaluations(db)
    assert found[: len(before)] == before, "nothing recorded is lost"
    assert all(ok for _, ok, _, _ in found), found
    assert len({agent for agent, *_ in found}) == len(found) == ITERATIONS + 1, found

"""Interrupts are not results: a second Ctrl-C leaves the jobs in flight unrecorded (never
`sandbox_error`, "runner went away"), so `--resume` redoes them; Ctrl-C and SIGTERM stop
`dgm bench run` at once, its reason counting exactly what was recorded."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from archive import ArchiveError, open_archive
from tests.cli.test_husks import runs_in, write_config
from tests.processes import DGM

TASKS = ["ledgerly__ledgerly-1", "ledgerly__ledgerly-4", "ledgerly__ledgerly-5"]
TASKS += ["ledgerly__ledgerly-7"]
SLOW_AGENT = """import argparse, time
p = argparse.ArgumentParser()
for a in ("--repo", "--problem", "--out"):
    p.add_argument(a)
p.parse_args()
time.sleep(20)
"""


def recorded(db: Path) -> list[tuple[str, str, str | None]]:
    """(agent, task, error kind) of every evaluation in the archive's only run."""
    try:
        with open_archive(db, create=False) as a:
            runs = a.runs()
            if not runs:
                return []
            return [
                (e.agent_id, e.task_id, e.error_kind)
                for ag in a.agents(runs[0].id)
                for e in a.evaluations(ag.id)
            ]
    except ArchiveError:  # not there yet, or being created
        return []


def wait_for(check: object, proc: subprocess.Popen[str], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:  # type: ignore[operator]
        if proc.poll() is not None:
            pytest.fail(f"it ended before the interrupt (exit {proc.returncode}): {proc.stderr}")
        time.sleep(0.1)


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_second_ctrl_c_records_nothing_in_flight_and_resume_redoes_it(tmp_path: Path) -> None:
    # An agent that takes its time, so that jobs are surely in flight at the second Ctrl-C
    # (the seed agent, answered "Done.", can finish its jobs between the two).
    slow = tmp_path / "slow_agent"
    slow.mkdir()
    (slow / "__main__.py").write_text(SLOW_AGENT)
    config = write_config(
        tmp_path,
        max_iterations=0,
        workers=2,
        stages=[{"name": "s", "tasks": TASKS}],
        seed_agent=str(slow),
    )
    db = tmp_path / "a.db"
    proc = subprocess.Popen(
        [str(DGM), "run", str(config), "--quiet", "--archive", str(db)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: recorded(db), proc)  # one is done; the next two are in flight
        time.sleep(1.0)
        before = recorded(db)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "exiting now" in err and "Traceback" not in err
    after = recorded(db)
    assert len(after) < len(TASKS), "interrupted with jobs in flight"
    assert {kind for *_, kind in after} <= {None, "empty_patch"}, after  # graded, not broken
    assert set(before) <= set(after)
    (run_id,) = runs_in(db)
    resumed = subprocess.run(
        [str(DGM), "run", "--resume", run_id, "--quiet", "--archive", str(db)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert resumed.returncode == 0, resumed.stderr
    final = recorded(db)
    pairs = [(agent, task) for agent, task, _ in final]
    assert len(pairs) == len(set(pairs)) == len(TASKS), "each job in flight redone, once"
    assert not [k for *_, k in final if k == "sandbox_error"], final
    deadline = time.monotonic() + 60  # the reaper removes the exited process's sandboxes
    while time.monotonic() < deadline and _containers(run_id):
        time.sleep(0.5)
    assert _containers(run_id) == []


def _containers(run_id: str) -> list[str]:
    import docker

    client = docker.from_env()
    return [
        c["Id"] for c in client.api.containers(all=True, filters={"label": f"dgm.run={run_id}"})
    ]


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_bench_run_stops_at_once_and_counts_what_is_recorded(
    sig: signal.Signals, tmp_path: Path
) -> None:
    (tmp_path / "script.yaml").write_text(yaml.safe_dump([{"content": "Done."}]))
    db = tmp_path / "a.db"
    args = ["bench", "run", "--agent", "seed", "--suite", "swe-mini", "--workers", "2"]
    args += ["--tasks", ",".join(TASKS), "--attempts", "3"]
    args += ["--model", f"scripted:{tmp_path / 'script.yaml'}", "--archive", str(db)]
    proc = subprocess.Popen(
        [str(DGM), *args], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(lambda: recorded(db), proc)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "Traceback" not in err, err
    total = len(TASKS) * 3
    done = recorded(db)
    assert 0 < len(done) <= 5 < total, "the jobs in flight finish; no new job starts"
    with open_archive(db, create=False) as a:
        (run_id,) = runs_in(db)
        assert a.run(run_id).status == "stopped"
        (agent,) = a.agents(run_id)
        assert agent.reason is not None
        far = re.search(r"(\d+) of (\d+) evaluations done", agent.reason)
        assert far is not None, agent.reason
        assert (int(far[1]), int(far[2])) == (len(done), total), "it counts what is recorded"

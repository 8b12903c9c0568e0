"""`dgm run` with HGM's scheduler end to end: swe-mini tasks in the real Docker sandbox,
graded by the real grader, a scripted model served through the real gateway (the setup of
test_cli_run.py, with the seed agent's editor working, so the seed resolves tasks and HGM
has a parent to expand). A short run within its budget, and kill -9 then --resume."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from archive import Archive, ArchiveError, open_archive
from dgm.config import read_yaml, validate
from tests.engine.test_cli_run import DGM, HANDICAP, WORKING, dgm, write_setup

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]


def hgm_setup(tmp: Path, evaluations: int) -> Path:
    config = write_setup(tmp, iterations=20, workers=1)
    tools = tmp / "handicapped" / "tools.py"
    tools.write_text(tools.read_text().replace(HANDICAP, WORKING))  # a seed that resolves
    data = yaml.safe_load(config.read_text())
    data.update(
        max_evaluations=evaluations,
        hgm={"alpha": 0.6, "min_results_for_final": 2},
    )
    config.write_text(yaml.safe_dump(data))
    return config


def pairs_of(archive: Archive, run_id: str) -> list[tuple[str, str]]:
    return [(a.id, e.task_id) for a in archive.agents(run_id) for e in archive.evaluations(a.id)]


def test_the_hgm_preset_is_valid() -> None:
    cfg = validate(read_yaml("hgm"))
    assert cfg.hgm is not None and cfg.hgm.alpha == 0.6
    assert cfg.operator == "self_modify" and cfg.max_evaluations is not None


def test_a_short_hgm_run_evaluates_task_by_task_within_its_budget(tmp_path: Path) -> None:
    proc = dgm("run", str(hgm_setup(tmp_path, 8)), "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    archive = open_archive(tmp_path / ".dgm" / "archive.db", create=False)
    (run,) = archive.runs()
    agents = archive.agents(run.id)
    pairs = pairs_of(archive, run.id)
    assert len(pairs) == len(set(pairs)) == 8, "the budget, each evaluation recorded once"
    assert len(agents) >= 3  # 8 ** 0.6 = 3.5: the tree grew while the seed was evaluated
    assert all(a.parent_id == agents[0].id for a in agents[1:2])
    seed_evals = archive.evaluations(agents[0].id)
    assert seed_evals and all(e.resolved for e in seed_evals)  # real grading, in sandboxes
    assert {e.stage for a in agents for e in archive.evaluations(a.id)} == {"hgm"}
    kinds = Counter(e.kind for e in archive.events(run.id))
    assert kinds["hgm_final"] == 1
    (final,) = archive.events(run.id, kinds=["hgm_final"])
    assert final.payload["agent"] in {a.id for a in agents}
    assert final.payload["evaluated"] >= 2
    assert archive.run(run.id).status == "stopped"
    shown = " ".join(proc.stderr.split())  # rich wraps the summary's lines
    assert "evaluation budget of 8 reached" in shown
    assert re.search(rf"hgm final\W+{final.payload['agent']} posterior mean", shown)
    report = dgm("report", run.id, "--out", str(tmp_path / "report"), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert run.id in (tmp_path / "report" / "report.md").read_text()


def test_kill_9_then_resume_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    config = hgm_setup(tmp_path, 10)
    db = tmp_path / ".dgm" / "archive.db"
    proc = subprocess.Popen(
        [str(DGM), "run", str(config), "--quiet"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists():
                try:
                    archive = open_archive(db, create=False)
                except ArchiveError:  # created, not migrated yet
                    time.sleep(0.2)
                    continue
                runs = archive.runs()
                if runs and len(archive.agents(runs[0].id)) >= 2:
                    if len(pairs_of(archive, runs[0].id)) >= 4:
                        break
                archive.close()
            time.sleep(0.2)
        assert proc.poll() is None, (
            f"the run ended before it could be killed: {proc.stderr.read() if proc.stderr else ''}"
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    archive = open_archive(db, create=False)
    (run,) = archive.runs()
    before = {
        (a.id, e.task_id): e.resolved
        for a in archive.agents(run.id)
        for e in archive.evaluations(a.id)
    }
    assert 4 <= len(before) < 10, "killed mid-run"
    assert archive.run(run.id).status == "running"

    resumed = dgm("run", "--resume", run.id[:6], "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    pairs = pairs_of(archive, run.id)
    after = {
        (a.id, e.task_id): e.resolved
        for a in archive.agents(run.id)
        for e in archive.evaluations(a.id)
    }
    assert len(pairs) == len(set(pairs)), "nothing is evaluated twice"
    assert {k: after[k] for k in before} == before, "nothing evaluated is lost"
    assert len(pairs) == 10, "the budget counts what the killed session recorded"
    sessions = archive.events(run.id, kinds=["session_started"])
    assert [s.payload["resumed"] for s in sessions] == [False, True]
    assert len(archive.events(run.id, kinds=["hgm_final"])) == 1
    assert archive.run(run.id).status == "stopped"

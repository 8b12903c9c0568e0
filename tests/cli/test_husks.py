"""No husks: a run that cannot start leaves no run behind; one interrupted while starting,
a stopped `dgm bench run`, or a session that lost its lease leave a state `dgm runs` and
`dgm run --resume` understand."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from archive import Archive, ArchiveError, LeaseHeld, hold_run, open_archive
from dgm.cli.run import drive
from dgm.llm.gateway import Gateway
from dgm.llm.scripted import ScriptedProvider
from dgm.loop import LEASE_LOST, Engine
from dgm.mutators.chat import GatewayChat
from dgm.mutators.diff import DiffMutator
from tests.cli.runner import dgm
from tests.engine.conftest import SEED, TASKS, SkillEvaluator, config, stages_for
from tests.processes import Deadline, dgm_process, first_run, wait_for_archive


def write_config(tmp: Path, **fields: object) -> Path:
    (tmp / "script.yaml").write_text("- pattern: .\n  content: Done.\n")
    path = tmp / "run.yaml"
    path.write_text(yaml.safe_dump({"model": f"scripted:{tmp / 'script.yaml'}", **fields}))
    return path


def runs_in(db: Path) -> list[str]:
    try:
        with open_archive(db, create=False) as a:
            return [r.id for r in a.runs()]
    except ArchiveError:  # not there yet, or being created
        return []


@pytest.mark.parametrize(
    ("fields", "expect"),
    [
        ({"model": "gpt-4o"}, "has no provider prefix"),
        ({"model": "scripted:missing.yaml"}, "not found"),
        ({"seed_agent": "missing-agent"}, "seed_agent 'missing-agent' is not a directory"),
        ({"seed_agent": "."}, "seed_agent: "),
        ({"suite": "swe-mni"}, "unknown suite 'swe-mni'"),
        ({"stages": [{"name": "s", "tasks": ["no-such-task"]}]}, "no task matches"),
    ],
)
def test_a_mistyped_model_suite_or_seed_agent_leaves_no_run(
    tmp_path: Path, fields: dict[str, object], expect: str
) -> None:
    config_path = write_config(tmp_path, sandbox="local", **fields)
    db = tmp_path / "a.db"
    with open_archive(db):  # an archive that exists: the failed start must add nothing to it
        pass
    outcome = dgm(["run", str(config_path), "--archive", str(db)], tmp_path)
    assert outcome.code == 2 and len(outcome.lines) == 1 and expect in outcome.stderr, outcome
    assert runs_in(db) == []


@pytest.mark.docker
@pytest.mark.timeout(300)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_during_start_up_leaves_a_stopped_run_that_resume_takes(
    sig: signal.Signals, tmp_path: Path, deadline: Deadline
) -> None:
    """SIGTERM too: before the live loop's handler, its default action would kill the
    process and leave the run `running` with no event."""
    # A run that cannot end on its own before the signal comes (with max_iterations=0 a
    # quick start-up could finish it first, and the test saw `finished`).
    config_path = write_config(tmp_path, max_iterations=1000, workers=4)
    db = tmp_path / "a.db"
    args = ["run", str(config_path), "--quiet", "--archive", str(db)]
    with dgm_process(args, tmp_path, stdout=subprocess.PIPE) as proc:
        run_id = wait_for_archive(db, first_run, "the run was created", proc, deadline)
        proc.send_signal(sig)  # while the sandbox pool starts (or just after)
        _, err = proc.communicate(timeout=deadline.left(30))
    assert proc.returncode in (0, 130) and "Traceback" not in err, err
    with open_archive(db, create=False) as a:
        info = a.run(run_id)
        assert info.status == "stopped", (proc.returncode, err)  # never `running` for ever
        events = {e.kind: e.payload for e in a.events(run_id)}
        if proc.returncode == 130:  # the interrupt came during start-up
            assert info.totals["reason"] == "interrupted during start-up"
            assert events["session_failed"] == {"reason": "interrupted during start-up"}
        else:  # it came once the session ran: the usual clean stop
            assert events["session_stopped"]["reason"] == "interrupted"
        with hold_run(a, run_id):  # the lease was released: a resume can take the run
            pass
    listed = dgm(["runs", "--archive", str(db)], tmp_path)
    assert listed.code == 0 and "stopped" in listed.stdout
    if proc.returncode == 130:  # `dgm runs` says why
        assert "stopped (interrupted during start-up)" in listed.stdout


def test_no_sandbox_leaves_no_run(tmp_path: Path) -> None:
    config_path = write_config(tmp_path, max_iterations=0)
    db = tmp_path / "a.db"
    with open_archive(db):
        pass
    env = {"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    outcome = dgm(["run", str(config_path), "--archive", str(db)], tmp_path, env=env)
    assert outcome.code == 2 and len(outcome.lines) == 1, outcome
    assert "no Docker engine answers" in outcome.stderr
    assert runs_in(db) == []


def test_a_session_that_lost_its_lease_leaves_the_status_to_the_new_owner(
    tmp_path: Path,
) -> None:
    archive = open_archive(tmp_path / "a.db")
    cfg = config(max_iterations=3)
    run_id = archive.create_run("lease", config=cfg.model_dump(), seed=cfg.seed)
    took_over = threading.Event()

    class TakenOver(SkillEvaluator):
        """On its first evaluation another session takes the run (this one stalled)."""

        def evaluate(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            if not took_over.is_set():
                took_over.set()
                (held,) = archive_leases(archive, run_id)
                archive.release_lease(run_id, held)
                archive.acquire_lease(run_id, "elsewhere:1:newowner")
                archive.set_run_status(run_id, "running")
                time.sleep(0.5)  # the renewer (every 0.05 s) sees it is gone
            return super().evaluate(*args, **kwargs)

    with Gateway(ScriptedProvider([]), archive=archive, run_id=run_id) as gw:
        engine = Engine(
            archive=archive,
            run_id=run_id,
            config=cfg,
            stages=stages_for(cfg),
            evaluator=TakenOver(archive),
            mutator=DiffMutator(max_tries=cfg.diff_max_tries),
            chat=GatewayChat(gw),
            problem_statements={t: t for t in TASKS},
            seed_files=SEED,
        )
        with hold_run(archive, run_id, ttl_s=60, every_s=0.05) as lease:
            reason = asyncio.run(drive(engine, run_id, live=False, lease=lease))
    assert reason == LEASE_LOST
    assert archive.run(run_id).status == "running"  # the new owner's, not "stopped"
    with pytest.raises(LeaseHeld):
        archive.acquire_lease(run_id, "here:2:late")
    archive.close()


def archive_leases(archive: Archive, run_id: str) -> list[str]:
    """The holder of the run's lease (one at most), read through the archive."""
    try:
        archive.acquire_lease(run_id, "probe:0:probe")
    except LeaseHeld as held:
        return [held.lease.holder]
    except ArchiveError:
        raise
    archive.release_lease(run_id, "probe:0:probe")
    return []


def lease_holder(a: Archive) -> tuple[str, int] | None:
    """(run id, pid of the lease's holder) once a run with an agent is there and held."""
    found = [r.id for r in a.runs() if r.n_agents]
    if not found:
        return None
    try:
        a.acquire_lease(found[0], "another:1:resume")  # must be refused
    except LeaseHeld as held:
        return found[0], held.lease.pid
    pytest.fail("another process took the lease of a running bench run")


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(400)
def test_a_stopped_bench_run_holds_the_lease_then_marks_run_and_agent(
    tmp_path: Path, deadline: Deadline
) -> None:
    from tests.benchmarks.test_evaluator_docker import FIX_SCRIPT, TASK_ID

    (tmp_path / "script.yaml").write_text(yaml.safe_dump(FIX_SCRIPT))
    db = tmp_path / "a.db"
    args = ["bench", "run", "--agent", "seed", "--suite", "swe-mini", "--tasks", TASK_ID]
    args += ["--model", f"scripted:{tmp_path / 'script.yaml'}", "--archive", str(db)]
    with dgm_process(args, tmp_path, stdout=subprocess.PIPE) as proc:
        run_id, holder_pid = wait_for_archive(
            db, lease_holder, "a lease on the run", proc, deadline
        )
        assert holder_pid == proc.pid, "the bench run never held its run's lease"
        proc.send_signal(signal.SIGTERM)  # as `kill` or a service manager stops it
        _, err = proc.communicate(timeout=deadline.left(30))
    assert proc.returncode == 130 and "Traceback" not in err, err
    with open_archive(db, create=False) as a:
        assert a.run(run_id).status == "stopped"
        (agent,) = a.agents(run_id)
        assert agent.status == "failed"
        assert agent.reason is not None and agent.reason.startswith("bench run stopped: ")
        with hold_run(a, run_id):  # released on the way out
            pass

"""`dgm run`'s checks before a run exists (dgm/cli/run.py `checked_target`): the suite is
opened once, `--pull` included, and the images it pulls are those of that opening."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.suites import Suite
from benchmarks.task import Task
from dgm import suite_run
from dgm.cli.run import checked_target
from dgm.config import load_config
from dgm.suite_run import SuiteTarget
from dgm.target import plan_target


@pytest.fixture
def openings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every opening of a suite by a run's planning (the real `open_suite`, counted)."""
    opened: list[str] = []
    real = suite_run.open_suite

    def counted(spec: str, **kwargs: object) -> Suite:
        opened.append(spec)
        return real(spec, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(suite_run, "open_suite", counted)
    return opened


def test_pull_opens_the_suite_once(openings: list[str], tmp_path: Path) -> None:
    config = load_config(None, {"suite": "swe-mini"})
    plan = checked_target(config, f"sqlite:///{tmp_path / 'a.db'}", pull=True)
    assert openings == ["swe-mini"] and isinstance(plan, SuiteTarget)
    assert not (tmp_path / "a.db").exists()  # checking writes no archive


def test_the_pull_hook_gets_the_planned_suite_and_its_needed_tasks(openings: list[str]) -> None:
    pulled: list[tuple[Suite, list[Task]]] = []
    config = load_config(None, {"suite": "swe-mini"})
    plan = plan_target(config, lambda suite, tasks: pulled.append((suite, tasks)))
    assert isinstance(plan, SuiteTarget) and openings == ["swe-mini"]
    ((suite, tasks),) = pulled
    assert suite is plan.suite
    needed = {i for stage in plan.stages for i in stage.task_ids}
    assert {t.instance_id for t in tasks} == needed and needed

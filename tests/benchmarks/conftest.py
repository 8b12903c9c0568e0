"""Fixtures for grading tests: the real Docker sandbox, and swe-mini tasks built on disk."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.swe_mini import build
from benchmarks.task import Task
from tests.conftest import missing


@pytest.fixture(scope="session")
def docker_backend() -> Iterator[Any]:
    from sandbox import EngineUnavailable, open_backend

    try:
        backend = open_backend("docker", run_label="tests-benchmarks", pool_size=3)
    except EngineUnavailable as e:
        missing("docker", f"no Docker engine: {e}")
    yield backend
    backend.close()


def first_task(prefix: str = "ledgerly__") -> Task:
    return next(t for t in build.load_tasks() if t.instance_id.startswith(prefix))


def built_repo(task: Task, dest: Path) -> Path:
    build.build_repo(task, dest)
    return dest


def git_diff_after(repo: Path, files: dict[str, str]) -> str:
    """The `git diff` a change to `files` makes in `repo` (left as it was afterwards)."""
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    diff = subprocess.run(
        ["git", "diff", "--cached"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout
    subprocess.run(["git", "reset", "-q", "--hard"], cwd=repo, check=True)
    subprocess.run(["git", "clean", "-qfd"], cwd=repo, check=True)
    return diff

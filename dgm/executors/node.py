"""What a cluster node keeps for the jobs it runs, once per worker process: sandbox
backends, opened suites with their built repositories, and each problem's evaluator. (On
this machine the session's own serve instead: dgm/executors/local.py.)"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from benchmarks.problems import Evaluator, Problem, open_problem_backend
from benchmarks.suites import Suite, open_suite
from benchmarks.task import Task
from sandbox import SandboxBackend, open_backend

POOL_SIZE = 1  # warm sandboxes per worker process: a node runs few jobs at once


class Repos:
    """Each task's repository, built once (jobs of several workers may ask at once) in a
    folder of its own, removed by `close`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: dict[tuple[str, str], Path | None] = {}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def repo(self, suite: Suite, task: Task) -> Path | None:
        with self._lock:
            key = (suite.name, task.instance_id)
            if key not in self._built:
                if self._tmp is None:
                    self._tmp = tempfile.TemporaryDirectory(prefix="dgm-repos-")
                dest = Path(self._tmp.name) / suite.name / task.instance_id
                self._built[key] = dest if suite.build_repo(task, dest) else None
            return self._built[key]

    def close(self) -> None:
        with self._lock:
            if self._tmp is not None:
                self._tmp.cleanup()
            self._tmp, self._built = None, {}


_lock = threading.Lock()
_backends: dict[tuple[str, str], SandboxBackend] = {}
_suites: dict[tuple[str, str], Suite] = {}
_repos = Repos()
_evaluators: dict[tuple[str, str, str, str], Evaluator] = {}


def backend(kind: str, run_label: str) -> SandboxBackend:
    with _lock:
        key = (kind, run_label)
        if key not in _backends:
            _backends[key] = open_backend(kind, run_label=run_label, pool_size=POOL_SIZE)
        return _backends[key]


def suite(spec: str, sandbox: str) -> Suite:
    with _lock:
        if (spec, sandbox) not in _suites:
            _suites[(spec, sandbox)] = open_suite(spec, sandbox=sandbox)
        return _suites[(spec, sandbox)]


def repo(opened: Suite, task: Task) -> Path | None:
    """The task's repository, built on this node once (a job per task would rebuild it)."""
    return _repos.repo(opened, task)


def scorer(problem: Problem, sandbox: str, run_label: str) -> Evaluator:
    """The problem's evaluator (the problem as the driver loaded it, carried by the job),
    over a backend of the problem's image: its layer is built on this node's Docker the
    first time (cached by its inputs, so a node that shares the driver's engine reuses the
    driver's build)."""
    with _lock:
        key = (problem.name, str(problem.root), sandbox, run_label)
        if key not in _evaluators:
            opened = open_problem_backend(
                problem, sandbox, pool_size=POOL_SIZE, run_label=run_label
            )
            _evaluators[key] = Evaluator(problem, opened)
        return _evaluators[key]

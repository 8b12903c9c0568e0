"""What a node keeps for the jobs it runs, once per worker process: sandbox backends,
opened suites with their built repositories, problems with their evaluators, and the relay
to the driver's gateway."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from benchmarks.problems import Evaluator, load, open_problem_backend
from benchmarks.suites import Suite, open_suite
from benchmarks.task import Task
from sandbox import SandboxBackend, open_backend

_lock = threading.Lock()
_backends: dict[tuple[str, str], SandboxBackend] = {}
_suites: dict[tuple[str, str], Suite] = {}
_repos: dict[tuple[str, str], Path | None] = {}
_evaluators: dict[tuple[str, str, str], Evaluator] = {}
_repo_dir: tempfile.TemporaryDirectory[str] | None = None

POOL_SIZE = 1  # warm sandboxes per worker process: a node runs few jobs at once


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
    global _repo_dir
    with _lock:
        key = (opened.name, task.instance_id)
        if key not in _repos:
            if _repo_dir is None:
                _repo_dir = tempfile.TemporaryDirectory(prefix="dgm-node-repos-")
            dest = Path(_repo_dir.name) / opened.name / task.instance_id
            _repos[key] = dest if opened.build_repo(task, dest) else None
        return _repos[key]


def problem_evaluator(spec: str, sandbox: str, run_label: str) -> Evaluator:
    """The evaluator of the problem at `spec` (a shipped name, or a path every node has),
    over a backend of the problem's image: its layer is built on this node's Docker the
    first time (cached by its inputs, so a node that shares the driver's engine reuses the
    driver's build)."""
    with _lock:
        key = (spec, sandbox, run_label)
        if key not in _evaluators:
            problem = load(spec)
            backend = open_problem_backend(
                problem, sandbox, pool_size=POOL_SIZE, run_label=run_label
            )
            _evaluators[key] = Evaluator(problem, backend)
        return _evaluators[key]

"""The shipped swe-mini and polyglot-mini content is valid.

swe-mini: every task builds into a reproducible one-commit repository without its hidden
tests, and, running its tests bare on the host (our own trusted code, not LLM output):
the empty patch leaves every FAIL_TO_PASS failing and every PASS_TO_PASS passing, the gold
patch makes all of them pass. The grader validates the same tasks again in the Docker
sandbox; this test keeps the content honest without Docker.

polyglot-mini: every exercise's reference solution passes its tests and its stub fails them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.swe_mini import build
from benchmarks.swe_mini.make_tasks import add_tests, apply_edits, git_diff, specs_of
from benchmarks.task import Task

TASKS = build.load_tasks()
SUITES = build.load_suites()
REPOS = sorted({t.repo for t in TASKS})
POLYGLOT = Path(build.SUITE_DIR).parent / "polyglot_mini" / "python" / "exercises" / "practice"
EXERCISES = sorted(p.name for p in POLYGLOT.iterdir() if p.is_dir()) if POLYGLOT.is_dir() else []
_RESULT = re.compile(r"^(PASSED|FAILED|ERROR|XFAIL|XPASS) (\S+::.*)$")


@pytest.fixture(scope="session")
def pycache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One bytecode cache for all pytest runs: compiling pytest each time is most of their cost."""
    return tmp_path_factory.mktemp("pycache")


def run_pytest(cwd: Path, args: list[str], pycache: Path) -> tuple[dict[str, str], str]:
    """Run pytest bare in `cwd`; return test id -> status (from the -rA summary) and the log."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PYTEST_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    # Plain pytest, as in the sandbox image; loading the host's plugins is most of a run's CPU.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    statuses = {}
    for m in filter(None, map(_RESULT.match, proc.stdout.splitlines())):
        status, rest = m.groups()
        # A passed test's line is its id alone; failures append " - <message>".
        statuses[rest if status == "PASSED" else rest.split(" - ", 1)[0]] = status
    return statuses, proc.stdout + proc.stderr


def git_apply(repo: Path, diff: str) -> None:
    proc = subprocess.run(
        ["git", "apply", "-"], cwd=repo, input=diff, text=True, capture_output=True
    )
    assert proc.returncode == 0, f"git apply failed: {proc.stderr}"
    # The shared bytecode cache checks mtime and size only: a same-size edit in the same
    # second as the last run (taskgraph-6's fix is) would run the stale bytecode.
    later = time.time() + 2
    for path in patched_paths(diff):
        if (repo / path).exists():
            os.utime(repo / path, (later, later))


def patched_paths(diff: str) -> set[str]:
    return set(re.findall(r"^diff --git a/(\S+) b/", diff, flags=re.M))


def is_test_path(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return (
        path.startswith("tests/")
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


# --- swe-mini: the suite as a whole ---


def test_suite_size_and_spread() -> None:
    assert len(TASKS) >= 30
    assert len(REPOS) >= 4
    assert {t.difficulty for t in TASKS} == {"easy", "medium", "hard"}
    for repo in REPOS:
        assert sum(t.repo == repo for t in TASKS) >= 5, repo


def test_instance_ids_are_unique_and_match_files() -> None:
    ids = [t.instance_id for t in TASKS]
    assert len(ids) == len(set(ids))
    files = sorted(p.stem for p in build.TASKS_DIR.glob("*.json"))
    assert files == sorted(ids)
    for task in TASKS:
        assert task.instance_id.startswith(f"{task.repo}__{task.repo}-")
        assert task.base_commit == "" and task.version == "1.0"


def test_suites_reference_existing_tasks() -> None:
    ids = {t.instance_id for t in TASKS}
    assert set(SUITES) == {"small", "medium", "full"}
    assert sorted(SUITES["full"]) == sorted(ids)
    assert set(SUITES["small"]) <= set(SUITES["medium"]) <= ids
    assert 4 <= len(SUITES["small"]) <= 6 and 12 <= len(SUITES["medium"]) <= 18
    assert {t.difficulty for t in TASKS if t.instance_id in SUITES["small"]} >= {"easy", "medium"}
    for name, members in SUITES.items():
        assert len(members) == len(set(members)), name


@pytest.mark.parametrize("repo", REPOS)
def test_repo_size_and_own_tests(repo: str) -> None:
    files = build.clean_tree(repo)
    lines = sum(c.count(b"\n") for p, c in files.items() if p.endswith(".py"))
    assert 300 <= lines <= 1200, f"{repo} has {lines} lines of Python"
    assert any(re.fullmatch(r"tests/test_\w+\.py", p) for p in files)
    assert "pyproject.toml" in files or "setup.cfg" in files


@pytest.mark.parametrize("repo", REPOS)
def test_json_is_up_to_date_with_specs(repo: str) -> None:
    """tasks/*.json were regenerated after the last change to a spec or a clean tree."""
    by_id = {t.instance_id: t for t in TASKS}
    specs = specs_of(repo)
    assert {f"{repo}__{repo}-{s.number}" for s in specs} == {
        t.instance_id for t in TASKS if t.repo == repo
    }
    clean = build.clean_tree(repo)
    for spec in specs:
        task = by_id[f"{repo}__{repo}-{spec.number}"]
        buggy = apply_edits(clean, spec.bug)
        assert task.bug_diff == git_diff(clean, buggy), task.instance_id
        assert task.patch == git_diff(buggy, clean), task.instance_id
        assert task.test_patch == git_diff(clean, add_tests(clean, spec.tests)), task.instance_id
        assert task.problem_statement == spec.statement.strip() + "\n"


# --- swe-mini: every task ---


@pytest.mark.parametrize("task", TASKS, ids=[t.instance_id for t in TASKS])
def test_task_is_valid(task: Task, tmp_path: Path, pycache: Path) -> None:
    # The gold patch is the exact reverse of the bug and touches no test file.
    assert task.patch and task.bug_diff and task.test_patch and task.FAIL_TO_PASS
    assert not any(is_test_path(p) for p in patched_paths(task.patch))
    assert patched_paths(task.bug_diff) == patched_paths(task.patch)
    assert build.apply_diff(build.task_repo_files(task), task.patch) == build.clean_tree(task.repo)
    assert all(is_test_path(p) for p in patched_paths(task.test_patch))
    assert not set(task.FAIL_TO_PASS) & set(task.PASS_TO_PASS)
    # Ids must survive any log parser (SWE-bench's splits on spaces; pytest escapes non-ASCII).
    bad_ids = [
        t
        for t in task.FAIL_TO_PASS + task.PASS_TO_PASS
        if not re.fullmatch(r"[\x21-\x7e]+", t) or "\\x" in t
    ]
    assert not bad_ids

    # The repository: reproducible hash, no hidden test in it, no build debris.
    repo = tmp_path / "repo"
    commit = build.build_repo(task, repo)
    assert re.fullmatch(r"[0-9a-f]{40}", commit)
    assert build.build_repo(task, tmp_path / "again") == commit
    shutil.rmtree(tmp_path / "again")
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [p for p in tracked if "__pycache__" in p or p.endswith(".pyc")]
    log = subprocess.run(
        ["git", "log", "--format=%H"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.split()
    assert log == [commit]
    for test_id in task.FAIL_TO_PASS:
        path, _, name = test_id.partition("::")
        function = name.split("[")[0]
        base = repo / path
        assert not base.exists() or f"def {function}(" not in base.read_text(), (
            f"{test_id} is in the base repo"
        )

    # Empty patch: the hidden tests are applied to the buggy tree.
    git_apply(repo, task.test_patch)
    for path in task.test_files:
        assert (repo / path).is_file(), path
    before, log_before = run_pytest(repo, task.test_files, pycache)
    still_failing = [t for t in task.FAIL_TO_PASS if before.get(t) == "PASSED"]
    assert not still_failing, f"FAIL_TO_PASS passing without the fix: {still_failing}\n{log_before}"
    broken = [t for t in task.PASS_TO_PASS if before.get(t) != "PASSED"]
    assert not broken, f"PASS_TO_PASS not passing on the buggy tree: {broken}\n{log_before}"

    # Gold patch: everything passes.
    git_apply(repo, task.patch)
    after, log_after = run_pytest(repo, task.test_files, pycache)
    failing = [t for t in task.FAIL_TO_PASS + task.PASS_TO_PASS if after.get(t) != "PASSED"]
    assert not failing, f"not passing with the gold patch: {failing}\n{log_after}"
    assert set(after) == set(task.FAIL_TO_PASS) | set(task.PASS_TO_PASS), (
        "the log has tests the task does not list"
    )


# --- polyglot-mini ---


def test_polyglot_has_exercises() -> None:
    assert 5 <= len(EXERCISES) <= 8


@pytest.mark.parametrize("name", EXERCISES)
def test_polyglot_exercise(name: str, tmp_path: Path, pycache: Path) -> None:
    src = POLYGLOT / name
    config = json.loads((src / ".meta" / "config.json").read_text())
    files = config["files"]
    assert files["example"] == [".meta/example.py"]
    assert (src / ".docs" / "instructions.md").read_text().strip()
    (solution,) = files["solution"]
    (test_file,) = files["test"]
    assert test_file == f"{name.replace('-', '_')}_test.py"

    # The stub, as the agent receives it, fails the tests.
    stub_dir = tmp_path / "stub"
    shutil.copytree(src, stub_dir)
    stub, stub_log = run_pytest(stub_dir, [test_file], pycache)
    assert stub and all(s != "PASSED" for s in stub.values()), stub_log

    # The reference solution in place of the stub passes them all.
    example_dir = tmp_path / "example"
    shutil.copytree(src, example_dir)
    shutil.copy(src / ".meta" / "example.py", example_dir / solution)
    example, example_log = run_pytest(example_dir, [test_file], pycache)
    assert example and all(s == "PASSED" for s in example.values()), example_log
    assert set(example) == set(stub)

"""Grading in the real Docker sandbox: what a patch can and cannot do."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from benchmarks.grading import grade
from tests.benchmarks.conftest import built_repo, first_task, git_diff_after

pytestmark = pytest.mark.docker

TASK_ID = "ledgerly__ledgerly-1"  # Money rounds half-even where half-up is documented
# A conftest that "fixes" the bug from a test file (pytest imports it before any test).
CHEAT = """import decimal

import ledgerly.money

ledgerly.money.ROUND_HALF_EVEN = decimal.ROUND_HALF_UP
"""


@pytest.fixture(scope="module")
def task_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    task = first_task(TASK_ID)
    return task, built_repo(task, tmp_path_factory.mktemp("repo") / "repo")


def test_gold_resolves_with_every_required_test_passing(
    docker_backend: Any, task_repo: tuple[Any, Path]
) -> None:
    task, repo = task_repo
    result = grade(task, task.patch, docker_backend, repo_dir=repo)
    assert result.resolved and result.patch_applied and result.error_kind is None
    assert result.FAIL_TO_PASS.success == task.FAIL_TO_PASS and not result.PASS_TO_PASS.failure
    assert "(git apply)" in result.log


def test_a_patch_that_edits_tests_does_not_help(
    docker_backend: Any, task_repo: tuple[Any, Path], tmp_path: Path
) -> None:
    task, _ = task_repo
    repo = built_repo(task, tmp_path / "repo")
    cheat = git_diff_after(repo, {"conftest.py": CHEAT, "tests/conftest.py": CHEAT})
    assert "conftest.py" in cheat

    only_cheat = grade(task, cheat, docker_backend, repo_dir=repo, allow_empty=True)
    assert sorted(only_cheat.dropped_test_files) == ["conftest.py", "tests/conftest.py"]
    assert not only_cheat.resolved and only_cheat.FAIL_TO_PASS.failure == task.FAIL_TO_PASS
    assert "conftest" not in only_cheat.log.split(">>>>> Start Test Output")[0]

    gold_and_cheat = grade(task, task.patch + cheat, docker_backend, repo_dir=repo)
    assert gold_and_cheat.resolved and "tests/conftest.py" in gold_and_cheat.dropped_test_files

    # without an allow_empty request, a test-only patch is simply empty: no sandbox needed
    empty = grade(task, cheat, docker_backend, repo_dir=repo)
    assert empty.error_kind == "empty_patch" and not empty.resolved


def test_the_cheat_really_works_when_not_dropped(
    docker_backend: Any, task_repo: tuple[Any, Path], tmp_path: Path
) -> None:
    """Guard for the test above: the same code loaded as a pytest plugin from a source
    file does make the failing tests pass, so it is the dropping that keeps grading honest."""
    task, _ = task_repo
    repo = built_repo(task, tmp_path / "repo")
    plugin = git_diff_after(repo, {"cheat_plugin.py": CHEAT})
    sneaky = task.model_copy(update={"test_cmd": task.test_cmd + " -p cheat_plugin"})
    result = grade(sneaky, plugin, docker_backend, repo_dir=repo)
    assert result.dropped_test_files == [] and result.resolved


def test_patch_that_does_not_apply(docker_backend: Any, task_repo: tuple[Any, Path]) -> None:
    task, repo = task_repo
    bad = re.sub(r"^-(?!--)(.*)$", r"-\1 NOT THERE", task.patch, count=1, flags=re.M)
    result = grade(task, bad, docker_backend, repo_dir=repo)
    assert result.error_kind == "patch_failed" and not result.patch_applied and not result.resolved
    assert ">>>>> Patch Apply Failed" in result.log


def test_fuzzy_fallback_applies_a_patch_with_stale_context(
    docker_backend: Any, task_repo: tuple[Any, Path]
) -> None:
    task, repo = task_repo
    lines = task.patch.splitlines(keepends=True)
    # spoil the first context line of the first hunk: git apply refuses, patch --fuzz copes
    i = next(i for i, line in enumerate(lines) if line.startswith("@@")) + 1
    while not lines[i].startswith(" ") or not lines[i].strip():
        i += 1
    lines[i] = " # stale context line\n"
    result = grade(task, "".join(lines), docker_backend, repo_dir=repo)
    assert "(patch --fuzz=5)" in result.log and result.patch_applied and result.resolved


def test_test_run_timeout(docker_backend: Any, task_repo: tuple[Any, Path]) -> None:
    task, repo = task_repo
    slow = task.model_copy(update={"test_cmd": "sleep 60; " + task.test_cmd})
    result = grade(slow, task.patch, docker_backend, repo_dir=repo, timeout_s=3)
    assert result.error_kind == "timeout" and not result.resolved
    assert set(result.tests.values()) == {"MISSING"}

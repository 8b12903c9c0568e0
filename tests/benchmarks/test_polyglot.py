"""Aider's polyglot layout and protocol, on an exercise written here in that layout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import dgm.seed_agent
from benchmarks import polyglot
from benchmarks.suites import SuiteError, open_suite
from dgm.evaluator import EvalLimits, evaluate
from dgm.llm import Gateway, open_provider

STUB = "def leap_year(year):\n    pass\n"
EXAMPLE = (
    "def leap_year(year):\n    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)\n"
)
WRONG = "def leap_year(year):\n    return year % 4 == 0\n"
TESTS = """import unittest

from leap import leap_year


class LeapTest(unittest.TestCase):
    def test_year_not_divisible_by_4(self):
        self.assertIs(leap_year(2015), False)

    def test_year_divisible_by_4_not_by_100(self):
        self.assertIs(leap_year(1996), True)

    def test_year_divisible_by_100_not_by_400(self):
        self.assertIs(leap_year(2100), False)

    def test_year_divisible_by_400(self):
        self.assertIs(leap_year(2000), True)
"""


def make_checkout(root: Path) -> Path:
    ex = root / "python" / "exercises" / "practice" / "leap"
    (ex / ".docs").mkdir(parents=True)
    (ex / ".meta").mkdir()
    (ex / ".docs" / "instructions.md").write_text(
        "# Instructions\n\nGiven a year, report if it is a leap year.\n"
    )
    (ex / ".meta" / "config.json").write_text(
        json.dumps(
            {
                "files": {
                    "solution": ["leap.py"],
                    "test": ["leap_test.py"],
                    "example": [".meta/example.py"],
                }
            }
        )
    )
    (ex / ".meta" / "example.py").write_text(EXAMPLE)
    (ex / "leap.py").write_text(STUB)
    (ex / "leap_test.py").write_text(TESTS)
    (root / "go" / "exercises" / "practice" / "leap").mkdir(
        parents=True
    )  # ignored: no .meta/config.json
    return root


def test_exercise_becomes_a_task(tmp_path: Path) -> None:
    tasks, dirs = polyglot.load_tasks(make_checkout(tmp_path / "polyglot"))
    (task,) = tasks
    assert task.instance_id == "polyglot__python-leap" and task.test_files == ["leap_test.py"]
    assert task.FAIL_TO_PASS == [
        f"leap_test.py::LeapTest::{n}"
        for n in (
            "test_year_not_divisible_by_4",
            "test_year_divisible_by_4_not_by_100",
            "test_year_divisible_by_100_not_by_400",
            "test_year_divisible_by_400",
        )
    ]
    assert (
        "leap year" in task.problem_statement
        and "modify the supplied files: leap.py" in task.problem_statement
    )

    repo = tmp_path / "repo"
    polyglot.build_repo(dirs[task.instance_id], repo)
    files = subprocess.run(
        ["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.split()
    assert files == [".docs/instructions.md", "leap.py"]  # DGM's: no tests, no .meta

    # the gold and test patches really apply, and the gold really passes (bare: our own code)
    for diff in (task.patch, task.test_patch):
        subprocess.run(["git", "apply", "-"], cwd=repo, input=diff, text=True, check=True)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout


def test_bad_checkouts_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="not a directory"):
        open_suite(f"polyglot:{tmp_path / 'nope'}").tasks()
    (tmp_path / "kotlin" / "exercises" / "practice" / "x").mkdir(parents=True)
    with pytest.raises(SuiteError, match=r"found languages kotlin; supported: python, go, rust"):
        open_suite(f"polyglot:{tmp_path}").tasks()


def test_second_try_problem_carries_the_failing_output(tmp_path: Path) -> None:
    tasks, _ = polyglot.load_tasks(make_checkout(tmp_path / "polyglot"))
    problem = polyglot.next_problem(
        tasks[0], "x" * 10_000 + "\nFAILED leap_test.py::LeapTest::test_year_divisible_by_400"
    )
    assert problem.startswith(tasks[0].problem_statement)
    assert "FAILED leap_test.py::LeapTest::test_year_divisible_by_400" in problem
    assert (
        "Fix the code in leap.py" in problem
        and len(problem) < len(tasks[0].problem_statement) + 7000
    )


def write_script(script: Path) -> None:
    """A wrong solution on the first try, the right one on the second."""
    script.write_text(
        yaml.safe_dump(
            [
                {
                    "tool_calls": [
                        {
                            "name": "editor",
                            "arguments": {
                                "command": "create",
                                "path": "leap.py",
                                "file_text": WRONG,
                            },
                        }
                    ]
                },
                {"content": "done"},
                {"tool_calls": [{"name": "bash", "arguments": {"command": "cat leap.py"}}]},
                {
                    "tool_calls": [
                        {
                            "name": "editor",
                            "arguments": {
                                "command": "create",
                                "path": "leap.py",
                                "file_text": EXAMPLE,
                            },
                        }
                    ]
                },
                {"content": "done"},
            ]
        )
    )


@pytest.mark.docker
def test_two_tries_with_test_feedback_end_to_end(docker_backend: Any, tmp_path: Path) -> None:
    """Try 1 writes a wrong solution; try 2 starts from it, is shown the failing tests, and fixes it."""
    suite = open_suite(f"polyglot:{make_checkout(tmp_path / 'polyglot')}")
    (task,) = suite.tasks()
    write_script(tmp_path / "script.yaml")
    with Gateway(open_provider(f"scripted:{tmp_path / 'script.yaml'}")) as gw:
        result = evaluate(
            Path(dgm.seed_agent.__file__).parent,
            task,
            suite,
            docker_backend,
            gw,
            limits=EvalLimits(agent_timeout_s=120),
        )
    assert result.resolved and result.tries == 2, result.agent_log
    tries = json.loads(result.trajectory)["tries"]
    first_problem = tries[1]["messages"][1]["content"]
    assert (
        "did not pass the tests" in first_problem
        and "test_year_divisible_by_100_not_by_400" in first_problem
    )
    assert (
        "leap_test" not in tries[0]["messages"][1]["content"].split("Files in the repository:")[1]
    )  # hidden
    assert (
        "return year % 4 == 0\n"
        in [m for m in tries[1]["messages"] if m["role"] == "tool"][0]["content"]
    )


def add_exercise(root: Path, name: str, language: str = "python") -> None:
    """A copy of the leap exercise under another name (and language: loading reads no
    more than its config and files)."""
    src = root / "python" / "exercises" / "practice" / "leap"
    dst = root / language / "exercises" / "practice" / name
    for p in src.rglob("*"):
        if p.is_file():
            (dst / p.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
            (dst / p.relative_to(src)).write_bytes(p.read_bytes())


# DGM's small subset (polyglot/subsets/small.json), in its order.
SMALL = [
    ("go", "dominoes"),
    ("cpp", "all-your-base"),
    ("python", "dominoes"),
    ("java", "sgf-parsing"),
    ("javascript", "robot-name"),
    ("rust", "variable-length-quantity"),
    ("python", "beer-song"),
    ("go", "book-store"),
    ("javascript", "bottle-song"),
    ("rust", "bowling"),
]


def test_dgm_polyglot_subsets_name_its_exercises(tmp_path: Path) -> None:
    """DGM's polyglot stages (its small and medium subsets) resolve on a checkout, so
    `dgm-paper` runs on one: every exercise, in all six languages."""
    root = make_checkout(tmp_path / "bench")
    add_exercise(root, "dominoes")
    suite = open_suite(f"polyglot:{root}")
    with pytest.raises(SuiteError, match="lacks 9 of the 10 exercises of DGM's 'small'"):
        suite.subset("small")
    for language, name in SMALL:
        add_exercise(root, name, language)
    suite = open_suite(f"polyglot:{root}")
    assert suite.subset("small") == [f"polyglot__{lang}-{name}" for lang, name in SMALL]
    with pytest.raises(SuiteError, match="'medium' subset of Aider's polyglot"):
        suite.subset("medium")
    with pytest.raises(SuiteError, match="has no subset 'big'"):
        suite.subset("big")


@pytest.mark.docker
def test_dgm_paper_gives_one_try_on_polyglot_as_dgm_does(
    docker_backend: Any, tmp_path: Path
) -> None:
    """DGM's polyglot harness runs the agent once (10 minutes) and the tests for 2 minutes
    (polyglot/harness.py:112, 182): the same script's wrong first try is the result."""
    from dgm.config import load_config
    from dgm.polyglot_run import polyglot_limits

    root = make_checkout(tmp_path / "polyglot")
    paper = load_config("dgm-paper", {"suite": f"polyglot:{root}"})
    limits = polyglot_limits(EvalLimits(agent_timeout_s=32400), paper.polyglot)
    assert (limits.max_tries, limits.agent_timeout_s, limits.grade_timeout_s) == (1, 600, 120)
    assert limits.sandbox.timeout_s == 600
    suite = open_suite(f"polyglot:{root}")
    (task,) = suite.tasks()
    write_script(tmp_path / "script.yaml")
    with Gateway(open_provider(f"scripted:{tmp_path / 'script.yaml'}")) as gw:
        result = evaluate(
            Path(dgm.seed_agent.__file__).parent, task, suite, docker_backend, gw, limits=limits
        )
    assert not result.resolved and result.tries == 1, result.agent_log
    assert "return year % 4 == 0\n" in result.patch

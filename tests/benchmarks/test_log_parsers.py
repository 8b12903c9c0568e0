"""The pytest log parser and the verdict, against logs from real pytest runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.grading import MISSING, grade_log, grade_statuses
from benchmarks.log_parsers import parse_log_pytest, summary_test_id
from benchmarks.task import Task

DEMO = """
import pytest

def test_pass():
    assert True

def test_fail():
    assert 1 == 2

@pytest.fixture
def broken():
    raise RuntimeError("boom")

def test_error(broken):
    pass

@pytest.mark.skip(reason="not now")
def test_skipped():
    pass

@pytest.mark.xfail(reason="known")
def test_xfail():
    assert 0

@pytest.mark.xfail(reason="known")
def test_xpass():
    pass

@pytest.mark.parametrize("s", ["a b", "x - y", "[z]", "ok", "p] - q"])
def test_param(s):
    assert s != "x - y"

class TestGroup:
    def test_method(self):
        pass

@pytest.fixture
def bad_teardown():
    yield
    raise ValueError("teardown")

def test_teardown_error(bad_teardown):
    pass
"""

EXPECTED = {
    "tests/test_demo.py::test_pass": "PASSED",
    "tests/test_demo.py::test_fail": "FAILED",
    "tests/test_demo.py::test_error": "ERROR",
    "tests/test_demo.py::test_xfail": "XFAIL",
    "tests/test_demo.py::test_xpass": "XPASS",
    "tests/test_demo.py::test_param[a b]": "PASSED",
    "tests/test_demo.py::test_param[x - y]": "FAILED",
    "tests/test_demo.py::test_param[[z]]": "PASSED",
    "tests/test_demo.py::test_param[ok]": "PASSED",
    "tests/test_demo.py::test_param[p] - q]": "PASSED",
    "tests/test_demo.py::TestGroup::test_method": "PASSED",
    "tests/test_demo.py::test_teardown_error": "ERROR",
}


def run_pytest(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-rA",
            "-p",
            "no:cacheprovider",
            *args,
            "tests/test_demo.py",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr  # some tests fail, by design
    return proc.stdout


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    (root / "tests").mkdir()
    (root / "tests" / "test_demo.py").write_text(DEMO)
    return root


def test_summary_log_gives_every_named_test_its_status(repo: Path) -> None:
    statuses = parse_log_pytest(run_pytest(repo))
    for test_id, status in EXPECTED.items():
        assert statuses.get(test_id) == status, test_id
    # -rA names a skipped test only by file:line, so it is absent without -v
    assert "tests/test_demo.py::test_skipped" not in statuses
    assert not any(t.startswith("[") for t in statuses)


def test_verbose_log_names_skipped_tests_too(repo: Path) -> None:
    statuses = parse_log_pytest(run_pytest(repo, "-v"))
    assert statuses["tests/test_demo.py::test_skipped"] == "SKIPPED"
    for test_id, status in EXPECTED.items():
        assert statuses.get(test_id) == status, test_id


def test_ids_with_brackets_and_dashes_are_kept_whole() -> None:
    assert (
        summary_test_id("t.py::test_p[x - y] - AssertionError: [1] - [2]") == "t.py::test_p[x - y]"
    )
    assert summary_test_id("t.py::test_p[[z]]") == "t.py::test_p[[z]]"
    assert summary_test_id("t.py::test_f - assert [1] == [2]") == "t.py::test_f"
    assert summary_test_id("t.py::test_f") == "t.py::test_f"


def task_for(f2p: list[str], p2p: list[str]) -> Task:
    return Task(
        instance_id="demo-1",
        repo="demo",
        base_commit="0" * 40,
        problem_statement="x",
        patch="",
        test_patch="",
        FAIL_TO_PASS=f2p,
        PASS_TO_PASS=p2p,
    )


def test_verdict_on_a_real_log(repo: Path) -> None:
    log = run_pytest(repo, "-v")
    ok = task_for(
        ["tests/test_demo.py::test_param[a b]"],
        ["tests/test_demo.py::test_pass", "tests/test_demo.py::test_xfail"],
    )
    result = grade_log(ok, log)
    assert result.resolved
    assert result.FAIL_TO_PASS.success == ["tests/test_demo.py::test_param[a b]"]

    for bad in [
        "test_fail",
        "test_error",
        "test_skipped",
        "test_xpass",
        "test_teardown_error",
        "test_param[x - y]",
        "test_gone",
    ]:
        result = grade_log(
            task_for([f"tests/test_demo.py::{bad}"], ["tests/test_demo.py::test_pass"]), log
        )
        assert not result.resolved, bad
        assert result.FAIL_TO_PASS.failure == [f"tests/test_demo.py::{bad}"]
        assert result.PASS_TO_PASS.success == ["tests/test_demo.py::test_pass"]
    assert grade_log(task_for(["tests/test_demo.py::test_gone"], []), log).tests == {
        "tests/test_demo.py::test_gone": MISSING
    }


def test_report_has_swebench_shape() -> None:
    result = grade_statuses(
        task_for(["a"], ["b", "c"]), {"a": "PASSED", "b": "PASSED", "c": "FAILED"}
    )
    report = result.swebench_report("diff --git a/x b/x\n")
    entry = report["demo-1"]
    assert entry["resolved"] is False and entry["patch_successfully_applied"] is True
    assert entry["tests_status"]["FAIL_TO_PASS"] == {"success": ["a"], "failure": []}
    assert entry["tests_status"]["PASS_TO_PASS"] == {"success": ["b"], "failure": ["c"]}
    assert set(entry["tests_status"]) == {
        "FAIL_TO_PASS",
        "PASS_TO_PASS",
        "FAIL_TO_FAIL",
        "PASS_TO_FAIL",
    }

"""Dropping a patch's test-file parts, on diffs made by real git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from benchmarks.grading import drop_test_files, is_test_path, split_patch


@pytest.mark.parametrize(
    "path",
    [
        "tests/test_x.py",
        "pkg/tests/helpers.py",
        "test/data.json",
        "testing/util.py",
        "e2e/run.sh",
        "test_a.py",
        "pkg/test_b.py",
        "pkg/b_test.py",
        "pkg/b_tests.py",
        "conftest.py",
        "pkg/conftest.py",
    ],
)
def test_test_paths(path: str) -> None:
    assert is_test_path(path)


@pytest.mark.parametrize(
    "path",
    ["pkg/latest.py", "pkg/contest.py", "testsuite.py", "pkg/attest/x.py", "README.md", "tests.md"],
)
def test_source_paths(path: str) -> None:
    assert not is_test_path(path)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def test_real_git_diff_loses_exactly_its_test_files(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "pkg" / "core.py").write_text("def f():\n    return 1\n")
    (tmp_path / "pkg" / "gone.py").write_text("x = 1\n")
    (tmp_path / "tests" / "test_core.py").write_text("def test_f():\n    assert False\n")
    (tmp_path / "conftest.py").write_text("")
    git(tmp_path, "add", "-A")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")

    (tmp_path / "pkg" / "core.py").write_text("def f():\n    return 2\n")
    (tmp_path / "pkg" / "gone.py").unlink()
    (tmp_path / "pkg" / "new.py").write_text("y = 2\n")
    (tmp_path / "tests" / "test_core.py").write_text("def test_f():\n    assert True\n")
    (tmp_path / "conftest.py").write_text("import pytest\n")
    (tmp_path / "pkg" / "test_new.py").write_text("def test_n():\n    pass\n")
    git(tmp_path, "add", "-A")
    diff = git(tmp_path, "diff", "--cached")

    assert {p for p, _ in split_patch(diff)} == {
        "pkg/core.py",
        "pkg/gone.py",
        "pkg/new.py",
        "tests/test_core.py",
        "conftest.py",
        "pkg/test_new.py",
    }
    kept, dropped = drop_test_files(diff)
    assert sorted(dropped) == ["conftest.py", "pkg/test_new.py", "tests/test_core.py"]
    assert {p for p, _ in split_patch(kept)} == {"pkg/core.py", "pkg/gone.py", "pkg/new.py"}

    # what is kept still applies cleanly to the base
    git(tmp_path, "reset", "-q", "--hard")
    (tmp_path / "kept.patch").write_text(kept)
    git(tmp_path, "apply", "kept.patch")
    assert (tmp_path / "pkg" / "core.py").read_text().endswith("return 2\n")
    assert (tmp_path / "tests" / "test_core.py").read_text().endswith("assert False\n")


def test_plain_unified_diff_is_split_by_file() -> None:
    diff = (
        "--- a/src/m.py\t2024-01-01\n+++ b/src/m.py\t2024-01-01\n@@ -1 +1 @@\n-a\n+b\n"
        "--- a/tests/test_m.py\n+++ b/tests/test_m.py\n@@ -1 +1 @@\n-c\n+d\n"
        "--- /dev/null\n+++ b/src/n.py\n@@ -0,0 +1 @@\n+e\n"
    )
    assert [p for p, _ in split_patch(diff)] == ["src/m.py", "tests/test_m.py", "src/n.py"]
    kept, dropped = drop_test_files(diff)
    assert dropped == ["tests/test_m.py"] and "+d" not in kept and "+b" in kept and "+e" in kept

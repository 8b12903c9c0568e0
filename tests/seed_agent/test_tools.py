"""The agent's tools, on real files and real processes."""

from __future__ import annotations

import time
from pathlib import Path

from dgm.seed_agent.tools import bash, editor, truncate


def test_bash_reports_exit_code_and_merges_stderr(tmp_path: Path) -> None:
    out = bash("echo out; echo err >&2; exit 3", tmp_path, 10)
    assert out.startswith("[exit code 3]") and "out" in out and "err" in out


def test_bash_runs_in_the_repo(tmp_path: Path) -> None:
    (tmp_path / "marker.txt").write_text("here")
    assert "marker.txt" in bash("ls", tmp_path, 10)


def test_bash_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    started = time.monotonic()
    out = bash(
        f"(sleep 30; touch {tmp_path}/late) & echo $! > {tmp_path}/bg.pid; echo started; sleep 30",
        tmp_path,
        1,
    )
    assert time.monotonic() - started < 10
    assert "timed out after 1s" in out and "started" in out
    background = int((tmp_path / "bg.pid").read_text())
    deadline = time.monotonic() + 10
    while alive(background) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(background), "the background job outlived the timeout"


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped is dead: it runs nothing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_long_output_keeps_head_and_tail(tmp_path: Path) -> None:
    out = bash("seq 1 100000", tmp_path, 30)
    assert len(out) < 10_200
    assert "\n1\n2\n" in out and out.rstrip().endswith("100000") and "characters cut" in out
    assert truncate("short") == "short"


def test_view_numbers_lines_and_ranges(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("one\ntwo\nthree\n")
    assert (
        editor({"command": "view", "path": "a.py"}, tmp_path)
        == "     1\tone\n     2\ttwo\n     3\tthree"
    )
    assert (
        editor({"command": "view", "path": "a.py", "view_range": [2, -1]}, tmp_path)
        == "     2\ttwo\n     3\tthree"
    )
    assert "does not exist" in editor({"command": "view", "path": "nope.py"}, tmp_path)


def test_view_directory_lists_two_levels_without_hidden(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "sub" / "deep").mkdir(parents=True)
    (tmp_path / "pkg" / "m.py").write_text("")
    (tmp_path / ".git").mkdir()
    listing = editor({"command": "view", "path": str(tmp_path)}, tmp_path).splitlines()
    assert listing == ["pkg/", "pkg/m.py", "pkg/sub/"]


def test_create_makes_parents_and_reports_overwrite(tmp_path: Path) -> None:
    assert editor({"command": "create", "path": "x/y.py", "file_text": "a\n"}, tmp_path).startswith(
        "created"
    )
    assert editor({"command": "create", "path": "x/y.py", "file_text": "b\n"}, tmp_path).startswith(
        "overwrote"
    )
    assert (tmp_path / "x" / "y.py").read_text() == "b\n"


def test_str_replace_exact_once(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("def f():\n    return 1\n\ndef g():\n    return 1\n")
    none = editor(
        {"command": "str_replace", "path": "m.py", "old_str": "return 2", "new_str": "x"}, tmp_path
    )
    assert none.startswith("error: old_str was not found")
    many = editor(
        {"command": "str_replace", "path": "m.py", "old_str": "return 1", "new_str": "x"}, tmp_path
    )
    assert many.startswith("error: old_str occurs 2 times") and "lines 2, 5" in many
    assert f.read_text().count("return 1") == 2  # errors change nothing
    ok = editor(
        {
            "command": "str_replace",
            "path": "m.py",
            "old_str": "def g():\n    return 1",
            "new_str": "def g():\n    return 2",
        },
        tmp_path,
    )
    assert ok.startswith("edited") and "return 2" in ok
    assert f.read_text() == "def f():\n    return 1\n\ndef g():\n    return 2\n"


def test_editor_rejects_bad_commands(tmp_path: Path) -> None:
    assert "unknown editor command" in editor({"command": "delete", "path": "a"}, tmp_path)
    assert "needs a path" in editor({"command": "view"}, tmp_path)


def test_replace_definitions_swaps_whole_functions_and_classes(tmp_path: Path) -> None:
    from dgm.seed_agent.tools import replace_definitions

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text(
        "import os\n\n\n@staticmethod\ndef f(x):\n    return x - 1\n\n\nclass K:\n    v = 1\n\n\ndef g():\n    return 0\n"
    )
    (tmp_path / "pkg" / "b.py").write_text("def g():\n    return 1\n")
    files = ["pkg/a.py", "pkg/b.py"]
    out = replace_definitions(
        "def f(x):\n    return x + 1\n\nclass K:\n    v = 2\n", tmp_path, files
    )
    assert out == "f: replaced in pkg/a.py\nK: replaced in pkg/a.py"
    assert (tmp_path / "pkg" / "a.py").read_text() == (
        "import os\n\n\ndef f(x):\n    return x + 1\n\n\nclass K:\n    v = 2\n\n\ndef g():\n    return 0\n"
    )
    assert "defined in 2 files, skipped" in replace_definitions(
        "def g():\n    return 5\n", tmp_path, files
    )
    assert "not defined anywhere" in replace_definitions("def h():\n    pass\n", tmp_path, files)
    assert "does not parse" in replace_definitions("def f(:\n", tmp_path, files)
    assert "defines no function" in replace_definitions("x = 1\n", tmp_path, files)

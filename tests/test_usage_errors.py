"""A usage error of any command (unknown option or command, missing argument, a value of
the wrong type or out of range) is one line on stderr and exit code 2; `--help` and a group
called without a command still print the help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dgm.cli import COMMANDS, app

REPO = Path(__file__).parents[1]

CASES = [
    (["--bogus"], "No such option: --bogus", "dgm --help"),
    (["nosuch"], "No such command 'nosuch'", "dgm --help"),
    (["runs", "--bogus"], "No such option: --bogus", "dgm runs --help"),
    (["runs", "extra"], "unexpected extra argument(s) (extra)", "dgm runs --help"),
    (["run", "--budget-us", "1"], "did you mean --budget-usd?", "dgm run --help"),
    (["run", "--seed", "x"], "'--seed': 'x' is not a valid integer", "dgm run --help"),
    (["archive", "nosuch"], "No such command 'nosuch'", "dgm archive --help"),
    (["archive", "list"], "Missing argument 'RUN'", "dgm archive list --help"),
    (["archive", "list", "r", "--limit", "0"], "0 is not in the range x>=1", "dgm archive list"),
    (["archive", "list", "r", "--limit", "abc"], "'abc' is not a valid integer", "dgm archive"),
    (["archive", "show"], "Missing argument 'AGENT'", "dgm archive show --help"),
    (["archive", "tree", "r", "--max-depth", "2"], "2 is not in the range x>=4", "archive tree"),
    (["archive", "diff"], "Missing argument 'A'", "dgm archive diff --help"),
    (["archive", "export", "a"], "Missing argument 'DEST'", "dgm archive export --help"),
    (["bench", "run"], "Missing option '--agent'", "dgm bench run --help"),
    (["bench", "nosuch"], "No such command 'nosuch'", "dgm bench --help"),
    (["sandbox", "nosuch"], "No such command 'nosuch'", "dgm sandbox --help"),
    (["llm", "usage"], "Missing argument 'RUN'", "dgm llm usage --help"),
    (["llm", "serve", "--port", "x"], "'--port': 'x' is not a valid integer", "dgm llm serve"),
    (["report"], "Missing argument 'RUN'", "dgm report --help"),
    (["report", "r", "--open", "yes"], "unexpected extra argument(s) (yes)", "dgm report"),
    (["problem", "score"], "Missing argument", "dgm problem score --help"),
    (["cluster", "up", "--workers", "x"], "'x' is not a valid integer", "dgm cluster up --help"),
    (["cluster", "nosuch"], "No such command 'nosuch'", "dgm cluster --help"),
    (["cluster", "up", "--workers", "0"], "0 is not in the range 1<=x<=16", "dgm cluster up"),
    (["ui", "--port", "abc"], "'--port': 'abc' is not a valid integer", "dgm ui --help"),
    (["compare", "--bogus"], "No such option: --bogus", "dgm compare --help"),
]


@pytest.mark.parametrize(("args", "what", "hint"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_a_usage_error_is_one_line(args: list[str], what: str, hint: str) -> None:
    r = CliRunner().invoke(app, args, prog_name="dgm")
    assert r.exit_code == 2, (r.exit_code, r.output)
    assert r.stdout == ""
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr
    assert what in r.stderr and hint in r.stderr, r.stderr


def test_every_command_is_covered() -> None:
    assert {c[0][0] for c in CASES} >= set(COMMANDS)


def test_through_the_real_entry_point() -> None:
    r = subprocess.run(
        [sys.executable, "-c", "from dgm.cli import main; main()", "archive", "list", "--sortt"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert r.returncode == 2 and r.stdout == "", r
    assert r.stderr.count("\n") == 1 and "No such option: --sortt: did you mean" in r.stderr


@pytest.mark.parametrize("args", [["--help"], ["runs", "--help"], ["archive", "list", "--help"]])
def test_help_is_still_the_help(args: list[str]) -> None:
    r = CliRunner().invoke(app, args, prog_name="dgm")
    assert r.exit_code == 0 and r.stderr == ""
    assert "Usage: dgm" in r.stdout and "--help" in r.stdout


@pytest.mark.parametrize("group", ["archive", "bench", "llm"])
def test_a_group_without_a_command_prints_its_help(group: str) -> None:
    r = CliRunner().invoke(app, [group], prog_name="dgm")
    assert r.exit_code == 2
    assert f"Usage: dgm {group}" in r.stdout and "Commands" in r.stdout
    assert "error:" not in r.output

"""The bad-input table (bad_inputs.py) run through the real CLI entry point: every case must
exit 2 with exactly one line, no traceback, and leave the archive's rows and every file
around it byte-for-byte as they were."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.cli.bad_inputs import CASES, CORRUPT_CASES, USAGE_CASES, Case
from tests.cli.conftest import Ids
from tests.cli.runner import Outcome, dgm, folder_print, rows_print


def params(cases: list[Case]) -> list[object]:
    return [pytest.param(case, id=case.args[:70], marks=case.marks) for case in cases]


def refuse(case: Case, workdir: Path, ids: Ids) -> Outcome:
    """Run the case; assert it changed nothing; return what it printed."""
    before_files, before_rows = folder_print(workdir), rows_print(workdir / "a.db")
    argv = case.argv(
        run=ids.run, agent=ids.agent, child=ids.child, twin=ids.twin, bench=ids.bench_run
    )
    outcome = dgm(argv, workdir, env={"DGM_ARCHIVE": str(workdir / "a.db")})
    assert rows_print(workdir / "a.db") == before_rows, "the archive's rows changed"
    assert folder_print(workdir) == before_files, "files around the archive changed"
    assert "Traceback" not in outcome.stdout + outcome.stderr, outcome.stderr
    return outcome


@pytest.mark.parametrize("case", params(CASES))
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    case: Case, workdir: Path, template: tuple[Path, Ids]
) -> None:
    outcome = refuse(case, workdir, template[1])
    assert outcome.code == 2, outcome
    assert outcome.stdout == "", outcome
    assert outcome.lines == outcome.stderr.strip().splitlines(), outcome
    assert len(outcome.lines) == 1, outcome
    (line,) = outcome.lines
    assert line.startswith("error: "), line
    assert case.expect.format(run=template[1].run) in line, line


@pytest.mark.parametrize("case", params(USAGE_CASES))
def test_usage_errors_exit_2_without_a_traceback(
    case: Case, workdir: Path, template: tuple[Path, Ids]
) -> None:
    outcome = refuse(case, workdir, template[1])
    assert outcome.code == 2, outcome
    assert outcome.stdout == "", outcome
    assert case.expect in " ".join(outcome.stderr.split()), outcome
    assert len(outcome.lines) == 1 and outcome.lines[0].startswith("error: "), outcome


def test_the_table_covers_every_command() -> None:
    from dgm.cli import COMMANDS

    firsts = {case.args.split(" ")[0] for case in CASES}
    assert firsts == set(COMMANDS) - {"help"}
    assert len(CASES) >= 150


@pytest.mark.parametrize(
    ("sql", "case"), [pytest.param(sql, case, id=sql[:50]) for sql, case in CORRUPT_CASES]
)
def test_a_row_corrupted_by_hand_is_one_line(
    sql: str, case: Case, workdir: Path, template: tuple[Path, Ids]
) -> None:
    conn = sqlite3.connect(workdir / "a.db")
    with conn:
        conn.execute(sql)
    conn.close()
    outcome = refuse(case, workdir, template[1])
    assert outcome.code == 2 and outcome.stdout == "", outcome
    (line,) = outcome.lines
    assert line.startswith("error: the archive's ") and "is corrupt" in line, line
    assert case.expect in line, line

"""What the archive refuses at its door, and how it says a database is locked."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

import archive.db
from archive import ArchiveError, LLMCallRecord, hold_run, open_archive


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tokens_in", -5),
        ("tokens_out", -1),
        ("cost_usd", -0.01),
        ("cost_usd", math.nan),
        ("latency_s", math.inf),
    ],
)
def test_an_llm_call_with_nonsense_numbers_is_refused(
    tmp_path: Path, field: str, value: float
) -> None:
    with open_archive(tmp_path / "a.db") as a:
        run = a.create_run("r")
        call = dict(tokens_in=1, tokens_out=1, cost_usd=0.0, latency_s=0.1) | {field: value}
        with pytest.raises(ArchiveError, match=f"{field} must be a finite number >= 0"):
            a.record_llm_call(
                LLMCallRecord(
                    run,
                    None,
                    None,
                    "chat",
                    "m",
                    request=b"{}",
                    response=None,
                    error_kind=None,
                    request_key="k",
                    **call,
                )
            )
        assert a.llm_calls(run) == []


@pytest.mark.parametrize("score", [math.nan, math.inf, -math.inf])
def test_a_score_that_is_not_finite_is_refused(tmp_path: Path, score: float) -> None:
    with open_archive(tmp_path / "a.db") as a:
        run = a.create_run("r")
        agent = a.add_agent(run, {"agent/__main__.py": b"pass\n"})
        with pytest.raises(ArchiveError, match="score must be a finite number"):
            a.set_agent_score(agent, "small", score)
        assert a.agent(agent).score is None


def test_a_locked_database_names_the_run_holding_it_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive.db, "BUSY_TIMEOUT_MS", 300)  # not 30 s in a test
    db = tmp_path / "a.db"
    with open_archive(db) as a:
        run = a.create_run("busy")
        with hold_run(a, run, every_s=60):
            blocker = sqlite3.connect(db, isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")  # another process mid-write, holding the lock
            try:
                with pytest.raises(ArchiveError) as e:
                    a.create_run("waits")
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()
    message = str(e.value)
    assert message.startswith("archive error: database is locked after waiting 0.3 s")
    assert f"run {run[:8]} by pid " in message and "wait for it to finish or stop it" in message
    assert "\n" not in message

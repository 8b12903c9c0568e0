"""The archive API: runs, agents, scores, evaluations, LLM calls, events, prefixes."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
from sqlalchemy import event

from archive import Archive, ArchiveError, CandidateStats, LLMCallRecord, open_archive
from archive.info import AGENT_STATUSES, ERROR_KINDS, RUN_STATUSES, AgentStatus, RunStatus
from tests.archive.conftest import agent_files, edit


def test_run_lifecycle(archive: Archive) -> None:
    run = archive.create_run("demo", config={"selector": "best", "tasks": [1, 2]}, seed=7)
    info = archive.run(run)
    assert (info.name, info.kind, info.status, info.seed) == ("demo", "evolve", "running", 7)
    assert info.config == {"selector": "best", "tasks": [1, 2]}
    assert info.finished_at is None
    archive.set_run_status(run, "stopped", totals={"iterations": 3})
    archive.set_run_status(run, "finished", totals={"usd": 0.5})
    info = archive.run(run)
    assert info.status == "finished" and info.finished_at is not None
    assert info.totals == {"iterations": 3, "usd": 0.5}
    archive.set_run_status(run, "running")
    assert archive.run(run).finished_at is None
    with pytest.raises(ArchiveError, match="unknown run status 'done'"):
        archive.set_run_status(run, "done")  # type: ignore[arg-type]
    with pytest.raises(ArchiveError, match="no run"):
        archive.run("0" * 16)
    with pytest.raises(ArchiveError, match="JSON"):
        archive.create_run("bad", config={"x": object()})


def test_agents_generation_children_and_diffstat(archive: Archive) -> None:
    run = archive.create_run("r")
    files = agent_files()
    root = archive.add_agent(run, files)
    child_files = edit(files, "agent/mod003.py", b"x * 5 + 3", b"x * 5 - 3")
    child = archive.add_agent(
        run,
        child_files,
        parent_id=root,
        operator="self_modify",
        origin={"task": "t-9", "diagnosis": "off by sign"},
    )
    other = archive.add_agent(run, files | {"agent/new.py": b"a\nb\n"}, parent_id=root)
    cross = archive.add_agent(
        run, child_files, parent_id=child, second_parent_id=other, operator="crossover"
    )
    a = archive.agent(child)
    assert (a.parent_id, a.generation, a.operator, a.status) == (root, 1, "self_modify", "pending")
    assert (a.files_changed, a.lines_added, a.lines_removed) == (1, 1, 1)
    assert a.origin == {"task": "t-9", "diagnosis": "off by sign"}
    assert archive.agent(other).lines_added == 2
    assert archive.agent(cross).generation == 2
    assert archive.agent(cross).second_parent_id == other
    assert archive.agent(cross).files_changed == 0
    assert archive.agent(root).n_children == 2
    assert archive.agent(child).n_children == 1 and archive.agent(other).n_children == 1
    assert [x.id for x in archive.agents(run)] == [root, child, other, cross]
    with pytest.raises(ArchiveError, match="no agent"):
        archive.add_agent(run, files, parent_id="f" * 16)
    with pytest.raises(ArchiveError, match="invalid file path"):
        archive.add_agent(run, {"../escape.py": b""})
    with pytest.raises(ArchiveError, match="must be bytes"):
        archive.add_agent(run, {"a.py": "text"})  # type: ignore[dict-item]


def test_status_scores_and_filters(archive: Archive) -> None:
    run = archive.create_run("r")
    ids = [archive.add_agent(run, {"a.py": f"v{i}\n".encode()}) for i in range(4)]
    archive.set_agent_status(ids[0], "evaluated")
    archive.set_agent_status(ids[1], "rejected", reason="does not compile: SyntaxError line 3")
    archive.set_agent_status(ids[2], "evaluated")
    archive.set_agent_score(ids[0], "small", 0.8)
    archive.set_agent_score(ids[0], "full", 0.4)
    archive.set_agent_score(ids[2], "small", 0.6)
    a0 = archive.agent(ids[0])
    assert a0.score == 0.4 and a0.scores == {"small": 0.8, "full": 0.4}
    assert archive.agent(ids[1]).reason == "does not compile: SyntaxError line 3"
    assert [a.id for a in archive.agents(run, status="evaluated")] == [ids[0], ids[2]]
    assert [a.id for a in archive.agents(run, min_score=0.5)] == [ids[2]]
    assert archive.best_agent(run).id == ids[2]  # type: ignore[union-attr]
    with pytest.raises(ArchiveError, match="unknown agent status"):
        archive.set_agent_status(ids[0], "great")  # type: ignore[arg-type]
    with pytest.raises(ArchiveError, match="finite"):
        archive.set_agent_score(ids[0], "small", float("nan"))


def test_a_rejected_child_is_one_write(archive: Archive) -> None:
    run = archive.create_run("r")
    root = archive.add_agent(run, {"a.py": b"0"})
    child = archive.add_agent(
        run,
        {"a.py": b"1("},
        parent_id=root,
        operator="diff",
        status="rejected",
        reason="does not compile: SyntaxError line 1",
    )
    info = archive.agent(child)
    assert (info.status, info.reason) == ("rejected", "does not compile: SyntaxError line 1")
    assert [(s.agent_id, s.status) for s in archive.candidate_stats(run)] == [
        (root, "pending"),
        (child, "rejected"),
    ]
    assert archive.agent(archive.add_agent(run, {"a.py": b"2"}, parent_id=root)).reason is None
    with pytest.raises(ArchiveError, match="unknown agent status 'bad'"):
        archive.add_agent(run, {"a.py": b"3"}, status="bad")  # type: ignore[arg-type]


def test_error_kinds_are_the_one_type(archive: Archive) -> None:
    run = archive.create_run("r")
    agent = archive.add_agent(run, {"a.py": b"x"})
    for kind in ERROR_KINDS:
        archive.record_evaluation(agent, "t", 1, "small", False, 0.0, {}, 0.1, error_kind=kind)
    assert [e.error_kind for e in archive.evaluations(agent)] == list(ERROR_KINDS)
    with pytest.raises(ArchiveError, match="unknown error kind 'crash'"):
        archive.record_evaluation(agent, "t", 1, "small", False, 0.0, {}, 0.1, error_kind="crash")  # type: ignore[arg-type]
    with pytest.raises(ArchiveError, match="unknown error kind"):
        archive.record_evaluations(
            agent, [dict(task_id="t", stage="s", resolved=False, error_kind="oops")]
        )
    assert len(archive.evaluations(agent)) == len(
        ERROR_KINDS
    )  # nothing of a refused batch was written


def test_grading_error_kinds_are_archive_error_kinds() -> None:
    """benchmarks may not import archive, so grading keeps its own Literal: a subset of this."""
    from benchmarks.grading import ErrorKind as GradingErrorKind

    assert set(get_args(GradingErrorKind)) <= set(ERROR_KINDS)


def test_status_types_name_every_status() -> None:
    assert AGENT_STATUSES == get_args(AgentStatus) and "rejected" in AGENT_STATUSES
    assert RUN_STATUSES == get_args(RunStatus) and "running" in RUN_STATUSES


def test_candidate_stats_match_a_hand_built_tree(archive: Archive) -> None:
    run = archive.create_run("r")
    other_run = archive.create_run("other")
    root = archive.add_agent(run, {"a.py": b"0"})
    c1 = archive.add_agent(run, {"a.py": b"1"}, parent_id=root)
    c2 = archive.add_agent(run, {"a.py": b"2"}, parent_id=root)
    g1 = archive.add_agent(run, {"a.py": b"3"}, parent_id=c1)
    archive.add_agent(other_run, {"a.py": b"4"}, parent_id=c1, operator="bench_copy")
    archive.set_agent_status(c1, "evaluated")
    archive.set_agent_score(c1, "small", 0.5)
    for task, ok in [("t1", True), ("t2", False), ("t1", True)]:
        archive.record_evaluation(c1, task, 0, "small", ok, 1.0 if ok else 0.0, {}, 1.0)
    archive.record_evaluation(g1, "t1", 1, "small", False, None, {}, 2.0, error_kind="timeout")
    stats = archive.candidate_stats(run)
    assert all(isinstance(s, CandidateStats) for s in stats)
    assert stats == [
        CandidateStats(root, None, 0, "pending", None, 2, 0, 0),
        CandidateStats(c1, root, 1, "evaluated", 0.5, 1, 2, 3),  # the bench copy is not a child
        CandidateStats(c2, root, 1, "pending", None, 0, 0, 0),
        CandidateStats(g1, c1, 2, "pending", None, 0, 0, 1),
    ]
    assert len(archive.candidate_stats(other_run)) == 1


def test_evaluations_round_trip(archive: Archive) -> None:
    run = archive.create_run("r")
    agent = archive.add_agent(run, {"a.py": b"x"})
    eid = archive.record_evaluation(
        agent,
        "django__django-11099",
        0,
        "small",
        True,
        1.0,
        {"tests/test_a.py::test_x": "PASSED", "tests/test_a.py::test_y[a b]": "FAILED"},
        12.345,
        patch="diff --git a/x b/x\n",
        logs=b"===== 1 passed =====\n",
        trajectory='[{"role": "user"}]',
    )
    archive.record_evaluation(
        agent, "t2", 1, "full", False, None, {}, 0.5, error_kind="empty_patch"
    )
    assert eid == f"{agent}/1"
    e1, e2 = archive.evaluations(agent)
    assert (e1.task_id, e1.attempt, e1.stage, e1.resolved, e1.score) == (
        "django__django-11099",
        0,
        "small",
        True,
        1.0,
    )
    assert e1.tests["tests/test_a.py::test_y[a b]"] == "FAILED"
    assert e1.duration_s == pytest.approx(12.345)
    assert e1.patch == b"diff --git a/x b/x\n" and e1.logs == b"===== 1 passed =====\n"
    assert e1.trajectory == b'[{"role": "user"}]'
    assert (e2.id, e2.error_kind, e2.patch, e2.logs, e2.tests) == (
        f"{agent}/2",
        "empty_patch",
        b"",
        b"",
        {},
    )
    ids = archive.record_evaluations(
        agent,
        [dict(task_id="t3", stage="full", resolved=True, score=1.0, tests={}, duration_s=1.0)] * 2,
    )
    assert ids == [f"{agent}/3", f"{agent}/4"]
    a = archive.agent(agent)
    assert (a.n_evaluated, a.n_resolved) == (4, 3)


def test_llm_calls_cache_lookup_and_cost(archive: Archive) -> None:
    run = archive.create_run("r")
    agent = archive.add_agent(run, {"a.py": b"x"})
    archive.record_llm_call(
        LLMCallRecord(
            run,
            agent,
            "t1",
            "diagnose",
            "smollm2",
            100,
            20,
            0.25,
            1.5,
            b'{"messages": 1}',
            b'{"choices": 1}',
            None,
            "k1",
        )
    )
    archive.record_llm_call(
        LLMCallRecord(
            run, None, None, "mutate", "smollm2", 10, 0, 0.0, 0.1, b"req", None, "timeout", "k2"
        )
    )
    archive.record_llm_call(
        LLMCallRecord(
            None, None, None, "chat", "smollm2", 1, 1, 0.5, 0.1, b"q", b"newer", None, "k1"
        )
    )
    assert archive.find_llm_response("k1") == b"newer"
    assert archive.find_llm_response("k1", run_id=run) == b'{"choices": 1}'
    assert archive.find_llm_response("k2") is None  # failed calls are never replayed
    assert archive.find_llm_response("nope") is None
    calls = archive.llm_calls(run)
    assert [(c.purpose, c.agent_id, c.response, c.error_kind) for c in calls] == [
        ("diagnose", agent, b'{"choices": 1}', None),
        ("mutate", None, None, "timeout"),
    ]
    assert calls[0].request == b'{"messages": 1}' and calls[0].tokens_in == 100
    assert [c.purpose for c in archive.llm_calls(run, agent_id=agent)] == ["diagnose"]
    assert archive.llm_calls(run, bodies=False)[0].request == b""
    assert archive.agent(agent).cost_usd == pytest.approx(0.25)
    assert archive.runs()[0].cost_usd == pytest.approx(0.25)


def test_events_are_ordered_and_filterable(archive: Archive) -> None:
    run = archive.create_run("r")
    other = archive.create_run("o")
    ids = [
        archive.append_event(run, k, {"i": i})
        for i, k in enumerate(["start", "child", "child", "stop"])
    ]
    archive.append_event(other, "start", {})
    assert ids == sorted(ids)
    assert [(e.kind, e.payload["i"]) for e in archive.events(run)] == [
        ("start", 0),
        ("child", 1),
        ("child", 2),
        ("stop", 3),
    ]
    assert [e.payload["i"] for e in archive.events(run, kinds=["child"])] == [1, 2]
    assert [e.payload["i"] for e in archive.events(run, after=ids[1])] == [2, 3]


def test_events_appended_together_keep_their_order_all_or_none(archive: Archive) -> None:
    run = archive.create_run("r")
    first = archive.append_event(run, "start", {})
    ids = archive.append_events(run, [("child", {"i": 0}), ("child", {"i": 1}), ("stop", {})])
    assert ids == sorted(ids) and ids[0] > first and len(set(ids)) == 3
    assert [e.kind for e in archive.events(run)] == ["start", "child", "child", "stop"]
    assert [e.id for e in archive.events(run)][1:] == ids
    # a payload that is not JSON fails the whole batch: nothing of it is written
    with pytest.raises(ArchiveError):
        archive.append_events(run, [("child", {"i": 2}), ("bad", {"x": object()})])
    assert len(archive.events(run)) == 4


def test_runs_summary(archive: Archive) -> None:
    old = archive.create_run("old")
    new = archive.create_run("new")
    a = archive.add_agent(new, {"a.py": b"1"})
    b = archive.add_agent(new, {"a.py": b"2"}, parent_id=a)
    archive.set_agent_score(a, "full", 0.2)
    archive.set_agent_score(b, "full", 0.9)
    archive.set_agent_status(b, "evaluated")
    summaries = {s.id: s for s in archive.runs()}
    assert [s.id for s in archive.runs()] == [new, old]
    s = summaries[new]
    assert (s.n_agents, s.n_evaluated, s.best_score, s.best_agent_id) == (2, 1, 0.9, b)
    assert (summaries[old].n_agents, summaries[old].best_score) == (0, None)


def test_prefix_resolution(archive: Archive) -> None:
    run = archive.create_run("named-run")
    ids = [archive.add_agent(run, {"a.py": str(i).encode()}) for i in range(40)]
    for agent_id in ids:
        unique = next(
            agent_id[:n] for n in range(1, 17) if sum(i.startswith(agent_id[:n]) for i in ids) == 1
        )
        assert archive.resolve_agent(unique) == agent_id
        assert archive.resolve_agent(agent_id.upper()) == agent_id
    first_chars = [i[0] for i in ids]
    shared = max(set(first_chars), key=first_chars.count)  # 40 ids over 16 digits: one repeats
    with pytest.raises(ArchiveError, match="ambiguous"):
        archive.resolve_agent(shared)
    with pytest.raises(ArchiveError, match="no agent matches 'zzz'"):
        archive.resolve_agent("zzz")
    with pytest.raises(ArchiveError, match="no agent matches"):
        archive.resolve_agent("")
    assert archive.resolve_run(run[:6]) == run
    assert archive.resolve_run("named-run") == run
    with pytest.raises(ArchiveError, match="no run matches"):
        archive.resolve_run("missing")


def test_candidate_stats_follow_writes_from_other_writers(archive: Archive) -> None:
    # Another Archive object stands in for another process: the cached stats of the first
    # must pick up everything it writes.
    run = archive.create_run("r")
    root = archive.add_agent(run, {"a.py": b"0"})
    assert [s.agent_id for s in archive.candidate_stats(run)] == [root]
    other = Archive(archive.url)
    child = other.add_agent(run, {"a.py": b"1"}, parent_id=root)
    other.set_agent_score(child, "small", 0.7)
    other.record_evaluation(root, "t", 0, "small", True, 1.0, {}, 1.0)
    stats = archive.candidate_stats(run)
    assert stats == [
        CandidateStats(root, None, 0, "pending", None, 1, 1, 1),
        CandidateStats(child, root, 1, "pending", 0.7, 0, 0, 0),
    ]
    other.set_agent_status(root, "evaluated")
    assert archive.candidate_stats(run)[0].status == "evaluated"
    assert archive.candidate_stats(run) == other.candidate_stats(run)
    other.close()


def test_each_archive_keeps_its_own_run_keys(archive: Archive, tmp_path: Path) -> None:
    # Both archives' first runs have the same key: a run one of them has looked up (and
    # remembers) is still unknown to the other.
    run = archive.create_run("theirs")
    archive.add_agent(run, {"a.py": b"0"})
    other = open_archive(tmp_path / "other.db")
    mine = other.create_run("mine")
    other.add_agent(mine, {"a.py": b"1"})
    with pytest.raises(ArchiveError, match="no run"):
        other.add_agent(run, {"a.py": b"2"})
    with pytest.raises(ArchiveError, match="no run"):
        other.candidate_stats(run)
    assert [s.parent_id for s in other.candidate_stats(mine)] == [None]
    assert [s.parent_id for s in archive.candidate_stats(run)] == [None]
    other.close()


def test_writes_in_steady_state_take_few_statements(archive: Archive) -> None:
    # What the engine pays per child (issue 18): no run, task or chain-depth lookups once
    # known, stats_seq computed inside the write that bumps it, blob keys by RETURNING.
    run = archive.create_run("r")
    files = agent_files()
    root = archive.add_agent(run, files)
    archive.record_evaluation(root, "t", 0, "small", True, 1.0, {}, 1.0)
    seen: list[str] = []
    event.listen(archive.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))

    def statements() -> list[str]:
        out = [s.split()[0] for s in seen if not s.startswith("BEGIN")]
        seen.clear()
        return out

    child = archive.add_agent(
        run, edit(files, "agent/mod003.py", b"x * 1", b"x * 7"), parent_id=root, origin={"o": 1}
    )
    # parent row; files: known?, insert; manifest + origin: known?, insert; agent; parent
    assert statements() == ["SELECT", "SELECT", "INSERT", "SELECT", "INSERT", "INSERT", "UPDATE"]
    archive.set_agent_status(child, "evaluating")
    assert statements() == ["UPDATE"]
    archive.record_evaluation(child, "t", 0, "small", True, 1.0, {}, 1.0, patch="p", logs="l")
    assert statements() == ["UPDATE", "SELECT", "INSERT", "INSERT"]
    archive.set_agent_score(child, "small", 0.5)
    assert statements() == ["SELECT", "UPDATE"]
    stats = {s.agent_id: s for s in archive.candidate_stats(run)}
    assert stats[root].n_children == 1 and stats[child].score == 0.5
    assert stats[child].status == "evaluating" and stats[child].n_resolved == 1
    with pytest.raises(ArchiveError, match="no agent"):
        archive.set_agent_status("0" * 16, "evaluated")
    with pytest.raises(ArchiveError, match="no agent"):
        archive.record_evaluation("0" * 16, "t", 0, "small", True, 1.0, {}, 1.0)

"""DGM-H's pure parts: the summary a selector reads, whose selector runs, which answers
are used, the seed's procedure files and the counts reports show."""

from __future__ import annotations

import json
import random
import runpy
from collections import Counter
from pathlib import Path

from archive import open_archive
from dgm.dgmh import (
    EVENT,
    INSTRUCTIONS,
    SEED_DIR,
    SELECTOR,
    HyperModifier,
    archive_summary,
    check_answer,
    describe_selection,
    procedure_files,
    selecting_agent,
    selection_counts,
    with_procedure,
)
from dgm.mutators.factories import operator_agent_files
from dgm.selectors import SELECTORS, Ranked
from sandbox import Limits

SEED = Ranked("s", None, "evaluated", 0.2, 2, 1, 5)
CHILD = Ranked("c", "s", "evaluated", 0.8, 0, 4, 5)
PENDING = Ranked("p", "c", "pending", None, 0, 0, 0)
REJECTED = Ranked("r", "s", "rejected", None, 0, 0, 0)
CANDIDATES = [SEED, CHILD, PENDING, REJECTED]


def test_the_summary_lists_parent_candidates_oldest_first_with_their_results() -> None:
    results = {"s": {"t1": True, "t2": False}, "c": {"t1": True}}
    summary = archive_summary(CANDIDATES, results, parents_wanted=1, seed=7)
    assert summary == {
        "version": 1,
        "parents_wanted": 1,
        "seed": 7,
        "agents": [
            {
                "id": "s",
                "parent": None,
                "score": 0.2,
                "children": 2,
                "resolved": 1,
                "evaluated": 5,
                "tasks": {"t1": True, "t2": False},
            },
            {
                "id": "c",
                "parent": "s",
                "score": 0.8,
                "children": 0,
                "resolved": 4,
                "evaluated": 5,
                "tasks": {"t1": True},
            },
        ],
    }
    assert json.loads(json.dumps(summary)) == summary


def test_the_newest_parent_candidate_selects() -> None:
    assert selecting_agent(CANDIDATES) == "c"  # pending and rejected agents never choose
    assert selecting_agent([SEED]) == "s"
    assert selecting_agent([PENDING, REJECTED]) is None


def test_only_a_list_of_enough_candidate_ids_is_used() -> None:
    allowed = ["s", "c"]
    assert check_answer(b'["c", "s"]', allowed, 1) == ["c"]
    assert check_answer(b'["s", "s"]', allowed, 2) == ["s", "s"]
    assert check_answer(None, allowed, 1) == "no answer written"
    assert check_answer(b"c", allowed, 1) == "the answer is not JSON"
    assert check_answer(b'"c"', allowed, 1) == "the answer is not a list of agent ids"
    assert check_answer(b"[1]", allowed, 1) == "the answer is not a list of agent ids"
    assert check_answer(b"[]", allowed, 1) == "0 ids, 1 wanted"
    assert check_answer(b'["p"]', allowed, 1) == "not a parent candidate: 'p'"
    assert check_answer(b'["zz"]', allowed, 1) == "not a parent candidate: 'zz'"
    assert check_answer(b"[" * 100000 + b"]" * 100000, allowed, 1) == "the answer is not JSON"


def test_the_shipped_selector_is_dgms_rule_and_repeats_its_draw() -> None:
    select = runpy.run_path(str(SEED_DIR / "select_parent.py"))["select"]
    summary = archive_summary(CANDIDATES, {}, 1, seed=3)
    picks = [select({**summary, "seed": s})[0] for s in range(400)]
    assert select(summary) == select(summary)
    # sigmoid(10 * (0.8 - 0.5)) / 1 = 0.953 against sigmoid(10 * (0.2 - 0.5)) / 3 = 0.016
    assert Counter(picks)["c"] > 380


def test_a_dgmh_seed_gets_the_procedure_files_and_keeps_its_own() -> None:
    shipped = procedure_files()
    assert set(shipped) == {INSTRUCTIONS, SELECTOR}
    own = {"__main__.py": b"x", SELECTOR: b"def select(summary):\n    return []\n"}
    seeded = with_procedure(own)
    assert seeded[SELECTOR] == own[SELECTOR] and seeded[INSTRUCTIONS] == shipped[INSTRUCTIONS]
    assert operator_agent_files("dgmh", own) == seeded
    assert operator_agent_files("self_modify", own) == own  # other operators' seeds unchanged


def test_counts_take_each_iterations_last_choice() -> None:
    payloads = [
        {"iteration": 1, "kind": None},
        {"iteration": 2, "kind": "timeout"},  # redone after a resume: the last one counts
        {"iteration": 2, "kind": None},
        {"iteration": 3, "kind": "crashed"},
        {"iteration": 4, "kind": "invalid"},
    ]
    counts = selection_counts(payloads)
    assert counts == Counter({"agent": 2, "crashed": 1, "invalid": 1})
    assert describe_selection(counts, "score_child_prop") == (
        "2 by agents' selectors, 2 by score_child_prop (1 crashed, 1 invalid)"
    )
    assert describe_selection(Counter(), "x") is None


class LostCluster:
    """An executor whose cluster is gone: every submit raises."""

    def submit(self, job: object, on_start: object = None) -> object:
        raise RuntimeError("the cluster is gone")


def test_an_executor_that_fails_is_one_more_fallback(tmp_path: Path) -> None:
    archive = open_archive(tmp_path / "a.db")
    run = archive.create_run("dgmh", config={"selector": "best"}, seed=0)
    seed = archive.add_agent(run, {"__main__.py": b"", **procedure_files()}, status="pending")
    archive.set_agent_score(seed, "small", 0.5)
    archive.set_agent_status(seed, "evaluated", None)
    modifier = HyperModifier(
        None,  # type: ignore[arg-type]  # choosing makes no child
        LostCluster(),  # type: ignore[arg-type]
        archive,
        run,
        "docker",
        Limits(timeout_s=5),
        SELECTORS["best"],
        "best",
    )
    picked = modifier.choose_parents(1, archive.candidate_stats(run), random.Random(1))
    assert picked == [seed]
    (event,) = archive.events(run, kinds=[EVENT])
    assert event.payload["kind"] == "sandbox" and event.payload["fallback"] == "best"
    assert event.payload["reason"] == "RuntimeError: the cluster is gone"

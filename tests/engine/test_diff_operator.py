"""`--operator diff` (dgm/mutators/diff.py): its prompt speaks of the run's target, and it
samples (a parent chosen twice is asked afresh, never answered from the gateway's cache)."""

from __future__ import annotations

import random
from pathlib import Path

from archive import open_archive
from benchmarks.problems import load
from dgm.config import RunConfig
from dgm.llm.fake_upstream import FakeUpstream
from dgm.llm.gateway import Gateway
from dgm.llm.models import open_provider
from dgm.mutators import Chat, EvalView, MutationContext, Parent
from dgm.mutators.chat import GatewayChat
from dgm.mutators.diff import DiffMutator
from dgm.mutators.factories import OperatorNeeds, build_operator
from dgm.session import chat_opener
from sandbox import open_backend
from tests.engine.test_line_edit import ScriptedChat

PROGRAM = {"problem/search.py": b"def solve(xs):\n    return sorted(xs)[0]\n"}
STATEMENT = "Return the smallest of xs, as fast as you can."


def context(files: dict[str, bytes], evaluations: list[EvalView], chat: Chat) -> MutationContext:
    parent = Parent("p1", files, evaluations)
    return MutationContext([parent], {"smallest": STATEMENT}, chat, random.Random(0), iteration=1)


def test_a_problem_runs_prompt_speaks_of_its_program_not_of_an_agent() -> None:
    ev = EvalView(
        "smallest",
        True,
        score=12.5,
        feedback="sorted() is O(n log n)",
        metrics={"seconds": 12.5, "correct": 1.0},
    )
    text, origin = DiffMutator(direction="min").prompt(context(PROGRAM, [ev], ScriptedChat([])))
    assert "agent" not in text and "GitHub" not in text and "issue" not in text
    assert STATEMENT in text and "def solve(xs):" in text and "### problem/search.py" in text
    assert "12.5 (lower is better)" in text and "seconds = 12.5" in text
    assert "sorted() is O(n log n)" in text and "SEARCH" in text
    assert origin == {"focus": None}
    # A coding agent's run is still told about its agent and the issue it failed.
    failed = EvalView("t-1", False, error_kind="tests_failed", trajectory="ran the tests")
    agent = {"agent/main.py": b"print('hi')\n"}
    text, origin = DiffMutator().prompt(context(agent, [failed], ScriptedChat([])))
    assert "coding agent that solves GitHub issues" in text and "### agent/main.py" in text


def test_a_parent_chosen_twice_is_asked_afresh_at_the_operators_temperature(
    tmp_path: Path,
) -> None:
    """Through the real gateway (its cache on: it has an archive) to an OpenAI-protocol
    server. At temperature 0 the second request of one parent is the cache's answer (the
    duplicate child the operator used to make); the operator's sampled requests each reach
    the model."""
    problem = load("rastrigin")
    cfg = RunConfig(operator="diff", problem="rastrigin", diff_max_tries=1, diff_temperature=0.7)
    archive = open_archive(tmp_path / "a.db")
    run = archive.create_run("r")
    ev = EvalView(problem.name, True, score=8.2)
    files = {"problem/p.py": b"X = 1\n"}
    with (
        archive,
        FakeUpstream() as up,
        Gateway(open_provider("openai/fake-model", api_base=up.base_url), archive, run) as gw,
        open_backend("local") as backend,
    ):
        open_chat = chat_opener(gw, archive, cfg, "openai/fake-model", gw.provider)
        needs = OperatorNeeds(cfg, backend, gw, problem=problem, open_chat=open_chat)
        diff = build_operator(needs)
        assert isinstance(diff, DiffMutator) and diff.direction == problem.direction
        engine_chat = GatewayChat(gw, temperature=0.0)  # what the operator used to sample with
        for mutator in (DiffMutator(max_tries=1, direction="min"), diff):
            for _ in range(2):
                mutator.mutate(context(files, [ev], engine_chat))
                gw.flush()
    temperatures = [r["body"]["temperature"] for r in up.requests]
    assert temperatures == [0.0, 0.7, 0.7]  # the engine chat's second: from the cache

"""Operator parts: SEARCH/REPLACE strictness, DGM's failure-choice rules, the diagnosis
with retries (through the real gateway with a scripted model), admission."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archive import open_archive
from archive.info import ErrorKind
from dgm.cli import app
from dgm.config import Limits, RunConfig, load_config
from dgm.executors.local import LocalExecutor
from dgm.executors.self_modify import ExecutorSelfModifier
from dgm.llm.gateway import Gateway
from dgm.llm.scripted import ScriptedEntry, ScriptedProvider
from dgm.loop import Engine
from dgm.mutators import EvalView, Mutation, MutationContext
from dgm.mutators.admission import rejection
from dgm.mutators.chat import GatewayChat
from dgm.mutators.diagnosis import DiagnosisFailed, diagnose, parse_proposal
from dgm.mutators.diff import DiffMutator
from dgm.mutators.factories import OperatorNeeds, build_operator
from dgm.mutators.focus import Focus, choose_focus
from dgm.mutators.operators import OPERATORS, Operator, register
from dgm.mutators.search_replace import Block, apply_blocks, parse_blocks
from dgm.mutators.self_modify import SelfModifyMutator
from sandbox import open_backend
from tests.engine.conftest import SEED, Harness, SkillEvaluator, stages_for
from tests.engine.conftest import config as engine_config
from tests.engine.test_dgm_fidelity import task

FILES = {"a.py": b"x = 1\ny = 2\nx = 1\n", "b.py": b"def f():\n    return 1\n"}


def test_parse_blocks_reads_paths_and_bodies() -> None:
    text = (
        "Here you go:\n`b.py`\n<<<<<<< SEARCH\n    return 1\n=======\n    return 2\n>>>>>>> REPLACE\n"
        "new/c.py\n<<<<<<< SEARCH\n=======\nprint('hi')\n>>>>>>> REPLACE\n"
    )
    assert parse_blocks(text) == [
        Block("b.py", "    return 1\n", "    return 2\n"),
        Block("new/c.py", "", "print('hi')\n"),
    ]


def test_blocks_apply_in_order_and_create_files() -> None:
    files, errors = apply_blocks(
        FILES, [Block("b.py", "    return 1\n", "    return 2\n"), Block("c.py", "", "z = 3\n")]
    )
    assert errors == [] and files is not None
    assert (
        files["b.py"] == b"def f():\n    return 2\n"
        and files["c.py"] == b"z = 3\n"
        and files["a.py"] == FILES["a.py"]
    )


@pytest.mark.parametrize(
    "block,reason",
    [
        (
            Block("a.py", "x = 1\n", "x = 9\n"),
            "block 1 (a.py): SEARCH text occurs 2 times in a.py; include more lines to make it unique",
        ),
        (
            Block("a.py", "y = 3\n", ""),
            "block 1 (a.py): SEARCH text not found in a.py; the closest line is line 2: 'y = 2'",
        ),
        (
            Block("nope.py", "x\n", ""),
            "block 1 (nope.py): file nope.py does not exist (files: a.py, b.py)",
        ),
        (
            Block("../etc/passwd", "", "x"),
            "block 1 (../etc/passwd): path '../etc/passwd' must be a plain relative path inside the agent",
        ),
        (
            Block("a.py", "", "x"),
            "block 1 (a.py): empty SEARCH creates a file, but a.py exists; quote the lines to change",
        ),
    ],
)
def test_a_block_that_does_not_apply_says_exactly_why(block: Block, reason: str) -> None:
    assert apply_blocks(FILES, [block]) == (None, [reason])


def test_application_is_all_or_nothing() -> None:
    good, bad = Block("b.py", "    return 1\n", "    return 2\n"), Block("a.py", "nope\n", "")
    files, errors = apply_blocks(FILES, [good, bad])
    assert files is None and len(errors) == 1 and errors[0].startswith("block 2 (a.py)")


def views(n: int, empty: int = 0, resolved: int = 0, context: int = 0) -> list[EvalView]:
    out = []
    for i in range(n):
        kind: ErrorKind | None = (
            "empty_patch" if i < empty else ("context_length" if i < empty + context else None)
        )
        ok = i >= n - resolved
        out.append(
            EvalView(f"t{i:02d}", ok, None if ok else kind, "" if kind == "empty_patch" else "diff")
        )
    return out


def test_focus_follows_dgms_probabilities() -> None:
    # 2 of 10 empty (>= 10 %): empty 1/4; else stochasticity 1/4 -> 3/16; else context 1/4
    # of the remaining 9/16 -> 9/64; else a random unresolved task: 27/64.
    evals = views(10, empty=2, context=1, resolved=3)
    rng = random.Random(11)
    n = 20000
    kinds = Counter(f.kind for f in (choose_focus(evals, rng) for _ in range(n)) if f)
    expected = {
        "empty_patch": 1 / 4,
        "stochasticity": 3 / 16,
        "context_length": 9 / 64,
        "unresolved": 27 / 64,
    }
    for kind, p in expected.items():
        assert kinds[kind] / n == pytest.approx(p, abs=0.012)


def test_focus_picks_only_unresolved_tasks_and_none_when_all_solved() -> None:
    evals = views(6, resolved=4)
    picks = {
        f.task_id
        for f in (choose_focus(evals, random.Random(s)) for s in range(200))
        if f and f.kind == "unresolved"
    }
    assert picks == {"t00", "t01"}
    solved = views(4, resolved=4)
    outcomes = {choose_focus(solved, random.Random(s)) for s in range(200)}
    assert None in outcomes and all(f is None or f.kind == "stochasticity" for f in outcomes)


PROPOSAL = {
    "log_summarization": "It never edited.",
    "potential_improvements": ["edit"],
    "improvement_proposal": "Edit.",
    "implementation_suggestion": "Call the editor.",
    "problem_description": "The agent ends without editing.",
}


def test_parse_proposal_accepts_fenced_or_bare_json() -> None:
    assert (
        parse_proposal("```json\n" + json.dumps(PROPOSAL) + "\n```").improvement_proposal == "Edit."
    )
    assert parse_proposal(
        "Sure! " + json.dumps(PROPOSAL) + " Hope it helps."
    ).problem_description.startswith("The agent")


def run_diagnosis(tmp_path: Path, answers: list[str], retries: int) -> tuple[object, list[str]]:
    archive = open_archive(tmp_path / "a.db")
    run = archive.create_run("diag")
    provider = ScriptedProvider([ScriptedEntry(content=a) for a in answers])
    with Gateway(provider, archive=archive, run_id=run) as gw:
        try:
            result: object = diagnose(
                GatewayChat(gw),
                {"__main__.py": b"print('agent')\n"},
                Focus("unresolved", "t1"),
                EvalView("t1", False, "empty_patch", "", "[log]", "{}"),
                "fix t1",
                agent_id=None,
                retries=retries,
                max_chars=4000,
            )
        except DiagnosisFailed as e:
            result = e
    requests = [json.loads(c.request)["messages"][-1]["content"] for c in archive.llm_calls(run)]
    return result, requests


def test_a_malformed_diagnosis_is_sent_back_with_the_exact_error(tmp_path: Path) -> None:
    missing = {k: v for k, v in PROPOSAL.items() if k != "problem_description"}
    result, requests = run_diagnosis(
        tmp_path, ["no json here", json.dumps(missing), json.dumps(PROPOSAL)], retries=3
    )
    proposal, tries = result  # type: ignore[misc]
    assert tries == 3 and proposal.problem_description == PROPOSAL["problem_description"]
    assert "# Agent log\n[log]" in requests[0]
    assert requests[1].startswith("That answer could not be used: no JSON object found")
    assert requests[2].startswith(
        "That answer could not be used: field 'problem_description': Field required"
    )


def test_diagnosis_gives_up_after_the_retries(tmp_path: Path) -> None:
    result, requests = run_diagnosis(tmp_path, ["{not json}", "{still: not}"], retries=2)
    assert isinstance(result, DiagnosisFailed) and len(requests) == 2
    assert str(result).startswith("no valid diagnosis after 2 tries: the JSON does not parse")


def test_admission_accepts_a_real_change_and_handles_both_layouts() -> None:
    parent = {
        "__main__.py": b"import argparse\np=argparse.ArgumentParser()\np.add_argument('--repo');p.add_argument('--problem');p.add_argument('--out')\n"
    }
    assert rejection(parent, {**parent, "notes.md": b"x"}) is None
    nested = {f"agent/{k}": v for k, v in parent.items()}
    assert rejection(
        nested, {k: v for k, v in nested.items() if k != "agent/__main__.py"} | {"agent/x.py": b""}
    ) == ("breaks the agent contract: agent/__main__.py is gone, so `python -m agent` cannot run")


# -- the operator registry ---------------------------------------------------------------


def test_every_registered_operator_is_in_the_config_and_the_cli_help() -> None:
    field = RunConfig.model_fields["operator"]
    assert (
        RunConfig.model_json_schema()["properties"]["operator"]["enum"]
        == list(OPERATORS)
        == ["self_modify", "diff", "reevo", "line_edit", "stop", "dgmh"]
    )
    help_text = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "300"}).output
    for name, op in OPERATORS.items():
        problem = {"problem": "tsp"} if op.evolves == "programs" else {}
        assert load_config(None, {"operator": name, **problem}).operator == name
        assert f"{name} ({op.summary})" in (field.description or "")
        assert name in help_text and op.summary in " ".join(help_text.split())


def test_the_registry_builds_each_operator_from_the_config(tmp_path: Path) -> None:
    cfg = RunConfig(
        operator="self_modify",
        diff_max_tries=7,
        prompt_chars=5000,
        diagnosis_retries=4,
        self_modify_limits=Limits(timeout_s=321, memory_mb=512, max_steps=9),
    )
    archive = open_archive(tmp_path / "a.db")
    with (
        Gateway(ScriptedProvider([]), archive=archive, run_id=archive.create_run("r")) as gw,
        open_backend("local") as backend,
    ):
        # The suite's tasks come from the run's target (opened once), never opened again:
        # this config names a suite that does not exist.
        tasks = {"t-1": task("t-1")}
        unopened = cfg.model_copy(update={"suite": "no-such-suite"})
        made = build_operator(OperatorNeeds(unopened, backend, gw, tasks=tasks))
        diff = build_operator(
            OperatorNeeds(cfg.model_copy(update={"operator": "diff"}), backend, gw)
        )
    assert isinstance(made, SelfModifyMutator) and made.name == "self_modify"
    assert made.tasks is tasks
    assert (made.diagnosis_retries, made.max_chars) == (4, 5000)
    runner = made.runner
    assert isinstance(runner, ExecutorSelfModifier) and isinstance(runner.executor, LocalExecutor)
    assert runner.executor.node.backend("docker", "") is backend  # the session's, always
    assert runner.gateway is gw and runner.max_steps == 9
    assert (runner.limits.timeout_s, runner.limits.memory_mb) == (321, 512)
    assert isinstance(diff, DiffMutator) and (diff.name, diff.max_tries, diff.max_chars) == (
        "diff",
        7,
        5000,
    )


def test_register_refuses_a_name_twice_and_zero_parents() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        register(Operator("diff", "again", OPERATORS["diff"].build))
    with pytest.raises(ValueError, match="parents must be at least 1"):
        register(Operator("none", "no parent", OPERATORS["diff"].build, parents=0))
    assert list(OPERATORS) == ["self_modify", "diff", "reevo", "line_edit", "stop", "dgmh"]


@dataclass
class Crossover:
    """A two-parent operator: the union of both parents' skills, plus one new one."""

    seen: list[list[str]]
    name: str = "crossover"

    def mutate(self, ctx: MutationContext) -> Mutation:
        self.seen.append([p.agent_id for p in ctx.parents])
        skills = {s for p in ctx.parents for s in p.files["skills.txt"].decode().split()[1:]}
        text = "skills:\n" + "".join(f"{s}\n" for s in sorted(skills | {f"t{ctx.iteration}"}))
        return Mutation({**ctx.files, "skills.txt": text.encode()}, {"parents": len(ctx.parents)})


SEEN: list[list[str]] = []  # the parents each crossover got, in the test that registers it


def crossover(needs: OperatorNeeds) -> Crossover:
    """The crossover's factory, as its registry entry names it."""
    return Crossover(SEEN)


def test_a_two_parent_operator_needs_only_its_registration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Registered with parents=2, a crossover gets two selected parents in its context, and
    the archive records the second one: no other table or engine change."""
    seen: list[list[str]] = []
    monkeypatch.setattr(f"{__name__}.SEEN", seen)
    monkeypatch.setitem(
        OPERATORS,
        "crossover",
        Operator("crossover", "union of two parents", f"{__name__}:crossover", parents=2),
    )
    cfg = engine_config(operator="crossover", selector="best", max_iterations=3)
    harness = Harness(tmp_path / "archive.db")
    run = harness.new_run(cfg)
    with (
        Gateway(ScriptedProvider([]), archive=harness.archive, run_id=run) as gw,
        open_backend("local") as backend,
    ):
        mutator = build_operator(OperatorNeeds(cfg, backend, gw))
        engine = Engine(
            archive=harness.archive,
            run_id=run,
            config=cfg,
            stages=stages_for(cfg),
            evaluator=SkillEvaluator(harness.archive),
            mutator=mutator,
            chat=GatewayChat(gw),
            problem_statements={},
            seed_files=SEED,
        )
        assert asyncio.run(engine.run()) == "done: 3 iterations"
    children = harness.archive.agents(run)[1:]
    assert [[c.parent_id, c.second_parent_id] for c in children] == seen
    assert all(len(pair) == 2 for pair in seen) and len(children) == 3
    assert {c.operator for c in children} == {"crossover"}
    assert len({c.second_parent_id for c in children}) > 1, (
        "the second parent is selected, not fixed"
    )


def test_the_diagnosis_schema_reaches_the_upstream_as_response_format(tmp_path: Path) -> None:
    """Through the real gateway and litellm to an OpenAI-protocol server: the request the
    upstream sees carries the proposal's JSON schema as a json_schema response_format."""
    from dgm.llm.fake_upstream import FakeUpstream
    from dgm.llm.models import open_provider
    from dgm.mutators.chat import json_schema_format
    from dgm.mutators.diagnosis import PROPOSAL_SCHEMA

    with (
        FakeUpstream() as up,
        Gateway(open_provider("openai/fake-model", api_base=up.base_url)) as gw,
    ):
        with pytest.raises(DiagnosisFailed):  # the fake upstream echoes text, never a proposal
            diagnose(
                GatewayChat(gw),
                {"__main__.py": b"print('agent')\n"},
                Focus("unresolved", "t1"),
                None,
                "fix t1",
                agent_id="a1",
                retries=1,
                max_chars=4000,
            )
    [seen] = up.requests
    assert seen["body"]["response_format"] == json_schema_format("diagnose", PROPOSAL_SCHEMA)
    schema = seen["body"]["response_format"]["json_schema"]["schema"]
    assert schema["required"] == list(PROPOSAL) and schema["additionalProperties"] is False
    assert schema["properties"]["potential_improvements"]["type"] == "array"


def test_a_proposal_with_raw_newlines_in_its_strings_parses() -> None:
    text = json.dumps(PROPOSAL).replace("Edit.", "Edit\\nthis.").replace("\\n", "\n")
    assert parse_proposal(text).improvement_proposal == "Edit\nthis."

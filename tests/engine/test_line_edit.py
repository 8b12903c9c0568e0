"""`--operator line_edit`: one small edit under a JSON schema, refused when it cannot run.

The pure pieces (where an edit may go, how it is applied, when it is refused); the schema
on the wire to a real OpenAI-protocol server; a whole `dgm run --problem ... --operator
line_edit` through the real CLI, gateway (a scripted model) and Docker sandbox; and one run
with the bundled model, which must make and evaluate a child (not improve it).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from archive import open_archive
from archive.info import objective
from dgm.config import NoveltySettings
from dgm.llm.gateway import Gateway
from dgm.mutators import EvalView, MutationContext, Parent
from dgm.mutators.chat import GatewayChat, json_schema_format
from dgm.mutators.line_edit import (
    Edit,
    LineEditMutator,
    apply_edit,
    draw_run,
    edit_schema,
    editable_lines,
    refusal,
    repaired,
)
from dgm.novelty import Edited, Novelty
from tests.engine.conftest import Harness, learn
from tests.engine.conftest import config as engine_config

DGM = Path(sys.executable).parent / "dgm"
PROGRAM = "def value():\n    return 1\n"
TINY = "def value():\n    # EVOLVE-BLOCK-START\n    return 1\n    # EVOLVE-BLOCK-END\n"
BLOCKED = "import math\n# EVOLVE-BLOCK-START\nX = 1\n\nY = 2\n# EVOLVE-BLOCK-END\nZ = 3\n"


def edit(line: int, old: str, new: str) -> str:
    return json.dumps({"line": line, "old": old, "new": new})


def test_edits_start_on_one_line_statements_inside_the_evolve_blocks() -> None:
    assert editable_lines(PROGRAM) == [1, 2]
    assert editable_lines(BLOCKED) == [3, 5]
    assert editable_lines("A = 1\n# EVOLVE-BLOCK-START\nB = 2\n") == [1, 3]  # unclosed: all
    source = (
        'import os\n"""Doc."""\n\n\ndef f(\n    a,\n):\n    """Doc."""\n    if a > 1:\n'
        "        x = g(\n            a)\n    for i in range(a):\n        pass\n    return a\n"
    )
    # Not the import, the docstrings, a def spread over lines, nor inside a call over two.
    assert editable_lines(source) == [9, 12, 13, 14]
    assert editable_lines("def f(:\n  x\n") == [1, 2]  # does not parse: any non-blank line


def test_a_run_to_change_avoids_lines_already_tried() -> None:
    rng = random.Random(3)
    runs = [draw_run(PROGRAM, 1, rng, frozenset({1})) for _ in range(20)]
    assert set(runs) == {(2, 1)}
    assert draw_run(PROGRAM, 1, rng, frozenset({1, 2})) in {(1, 1), (2, 1)}  # none left: any
    assert draw_run("\n\n", 3, rng) is None


def test_an_edit_keeps_the_indentation_of_the_line_it_replaces() -> None:
    assert apply_edit(PROGRAM, Edit(2, 1, "return 2"), 3) == "def value():\n    return 2\n"
    two = apply_edit(PROGRAM, Edit(2, 1, "  x = 2\n  return x"), 3)
    assert two == "def value():\n    x = 2\n    return x\n"
    assert apply_edit(BLOCKED, Edit(3, 3, "X = Y = 7"), 3).splitlines()[2:4] == [
        "X = Y = 7",
        "# EVOLVE-BLOCK-END",
    ]
    assert apply_edit("a = 1", Edit(1, 1, "a = 2"), 3) == "a = 2"  # no newline at the end


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (Edit(7, 1, "X = 2"), "line 7 is not one of the lines that may change"),
        (Edit(3, 4, "X = 2"), "an edit replaces 1 to 3 lines, not 4"),
        (Edit(5, 2, "Y = 3"), "lines 5-6 leave the editable region"),
    ],
)
def test_an_edit_outside_its_bounds_says_why(bad: Edit, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        apply_edit(BLOCKED, bad, 3)


def test_an_edit_that_changes_nothing_or_does_not_compile_is_refused() -> None:
    assert refusal("p.py", PROGRAM, PROGRAM) == "the edit changes nothing"
    broken = apply_edit(PROGRAM, Edit(2, 1, "return ("), 3)
    assert (refusal("p.py", PROGRAM, broken) or "").startswith(
        "the file no longer compiles: p.py:2:"
    )
    assert refusal("p.py", PROGRAM, PROGRAM.replace("1", "2")) is None
    spaced = PROGRAM.replace("return 1", "return  1  # one")
    assert (
        refusal("p.py", PROGRAM, spaced)
        == "the edit changes nothing: only spaces or comments differ"
    )
    assert refusal("notes.txt", "a", "b (") is None  # only Python is compiled


def test_a_small_models_json_slips_are_repaired_only_into_code_that_compiles() -> None:
    # It closes its JSON inside the string, or forgets to close a bracket.
    assert repaired(TINY, Edit(3, 1, "return 2}}"), "p.py", 3) == TINY.replace("1", "2")
    assert repaired(TINY, Edit(3, 1, "return int(2.5"), "p.py", 3) == TINY.replace("1", "int(2.5)")
    assert repaired(TINY, Edit(3, 1, "return 1}"), "p.py", 3) is None  # repaired: no change
    assert repaired(TINY, Edit(3, 1, "return 1 +"), "p.py", 3) is None


def test_the_schema_reaches_an_openai_protocol_server_as_response_format() -> None:
    """Through the real gateway and litellm to an HTTP server speaking OpenAI's protocol: the
    request carries the edit's schema; its echoed answer is no edit, refused each try."""
    from dgm.llm.fake_upstream import FakeUpstream
    from dgm.llm.models import open_provider

    words = "def value():\n    return 'one'\n"  # no number: every try a whole line
    parent = Parent("p1", {"prog.py": words.encode()}, [EvalView("prob", True, score=1.0)])
    with (
        FakeUpstream() as up,
        Gateway(open_provider("openai/fake-model", api_base=up.base_url)) as gw,
    ):
        chat = GatewayChat(gw, temperature=0.8)
        ctx = MutationContext([parent], {}, chat, random.Random(0), iteration=1)
        mutation = LineEditMutator(
            chat, main_file="prog.py", direction="max", tries=2, token_share=0.0
        ).mutate(ctx)
    assert mutation.files is None
    assert (mutation.reason or "").startswith(
        "no usable edit after 2 tries: the answer is not JSON"
    )
    assert [t["attempt"] for t in mutation.origin["tries"]] == [1, 2]
    first = up.requests[0]["body"]
    second = up.requests[1]["body"]
    assert {first["response_format"]["json_schema"]["name"], first["temperature"]} == {
        "line_edit",
        0.8,
    }
    # Each try on another line (the only two there are), the line and its code the schema's.
    schemas = [r["response_format"] for r in (first, second)]
    assert sorted(s["json_schema"]["schema"]["properties"]["line"]["enum"] for s in schemas) == [
        [1],
        [2],
    ]
    line = second["response_format"]["json_schema"]["schema"]["properties"]["line"]["enum"][0]
    old = ["def value():", "return 'one'"][line - 1]
    assert second["response_format"] == json_schema_format("line_edit", edit_schema(line, old))
    prompt = second["messages"][0]["content"]
    assert "1| def value():\n2|     return 'one'" in prompt and "1 (higher is better)" in prompt
    assert f"Change line {line} so that the score gets better" in prompt


class ScriptedChat:
    """The Chat seam answering from a list, keeping each prompt and schema it was sent."""

    def __init__(self, answers: list[str]) -> None:
        self.answers = answers
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        purpose: str,
        agent_id: str | None = None,
        schema: Mapping[str, Any] | None = None,
    ) -> str:
        assert purpose == "line_edit" and schema is not None
        self.sent.append((messages[0]["content"], dict(schema)))
        return self.answers.pop(0)


SEARCH = (
    "import random\n"
    "def search(iterations=1000):\n"
    '    best = -float("inf")\n'
    "    for _ in range(iterations):\n"
    "        best = max(best, random.random())\n"
    "    return best\n"
)


def test_a_token_edit_offers_a_numbers_neighbours_and_applies_the_pick() -> None:
    chat = ScriptedChat([json.dumps({"line": 2, "old": "1000", "new": "2000"})])
    parent = Parent("p1", {"s.py": SEARCH.encode()}, [EvalView("prob", True, score=0.9)])
    ctx = MutationContext([parent], {}, chat, random.Random(3), iteration=1)
    mutator = LineEditMutator(chat, main_file="s.py", direction="max", token_share=1.0)
    mutation = mutator.mutate(ctx)  # `1000` is the one site here
    [(prompt, schema)] = chat.sent
    assert schema["properties"]["old"]["enum"] == ["1000"]
    choices = schema["properties"]["new"]["enum"]
    assert sorted(choices, key=int) == ["500", "800", "900", "1100", "1250", "2000"]
    assert f"with one of: {'  '.join(choices)}" in prompt  # the order the schema has
    assert "Replace the number `1000` on line 2" in prompt
    assert "def search(iterations=1000):\n" + " " * 22 + "^^^^\n" in prompt
    assert mutation.files == {"s.py": SEARCH.replace("1000", "2000").encode()}
    assert mutation.origin["edit"] == {
        "attempt": 1,
        "line": 2,
        "lines": 1,
        "token": "1000",
        "new": "2000",
    }


def test_a_token_answer_off_the_list_and_a_line_inventing_a_name_are_refused() -> None:
    parent = Parent("p1", {"s.py": SEARCH.encode()}, [EvalView("prob", True, score=0.9)])
    chat = ScriptedChat([json.dumps({"line": 2, "old": "1000", "new": "1001"})])
    mutator = LineEditMutator(chat, main_file="s.py", token_share=1.0, tries=1)
    mutation = mutator.mutate(MutationContext([parent], {}, chat, random.Random(0), iteration=1))
    assert mutation.files is None
    assert mutation.origin["tries"] == [
        {
            "attempt": 1,
            "line": 2,
            "lines": 1,
            "token": "1000",
            "refused": "'new' must be one of 500, 800, 900, 1100, 1250, 2000",
        }
    ]
    invented = apply_edit(SEARCH, Edit(5, 1, "best = new_best"), 3)
    assert refusal("s.py", SEARCH, invented) == "the edit uses `new_best`, defined nowhere in s.py"


def test_after_a_refused_whole_line_the_next_try_is_a_token_edit() -> None:
    chat = ScriptedChat([json.dumps({"line": 2, "old": "1000", "new": "1250"})])
    parent = Parent("p1", {"s.py": SEARCH.encode()}, [EvalView("prob", True, score=0.9)])
    mutator = LineEditMutator(chat, main_file="s.py", token_share=0.0, tries=2)
    rng = random.Random(1)
    line = draw_run(SEARCH, 3, random.Random(1))
    assert line is not None
    chat.answers.insert(0, edit(line[0], "", "x = your_code"))
    mutation = mutator.mutate(MutationContext([parent], {}, chat, rng, iteration=1))
    first, second = mutation.origin["tries"]
    assert "token" not in first and first["refused"]  # a whole line, refused
    assert second["token"] == "1000" and second["new"] == "1250"
    assert mutation.files == {"s.py": SEARCH.replace("1000", "1250").encode()}


def test_a_token_edit_offers_only_the_choices_that_make_a_new_agent() -> None:
    """The run's exact-duplicate check (dgm.novelty) is asked before the model: siblings
    already made are no choice, so the call is spent on a child that is new."""
    novelty = Novelty(NoveltySettings())
    files = {"s.py": SEARCH.encode()}
    novelty.add("p1", files)
    for i, made in enumerate(["500", "800", "900", "1100", "1250"]):
        novelty.add(f"c{i}", {"s.py": SEARCH.replace("1000", made).encode()})
    chat = ScriptedChat([json.dumps({"line": 2, "old": "1000", "new": "2000"})])
    parent = Parent("p1", files, [EvalView("prob", True, score=0.9)])
    ctx = MutationContext([parent], {}, chat, random.Random(3), 1, known=novelty.seen)
    mutation = LineEditMutator(chat, main_file="s.py", token_share=1.0).mutate(ctx)
    [(prompt, schema)] = chat.sent
    assert schema["properties"]["new"]["enum"] == ["2000"] and "with one of: 2000\n" in prompt
    assert mutation.files == {"s.py": SEARCH.replace("1000", "2000").encode()}
    assert mutation.origin["edit"]["repeats_left_out"] == 5
    assert not novelty.seen(mutation.files) and novelty.check(mutation.files) is None


def test_each_choice_is_checked_on_a_view_keyed_by_the_one_changed_file() -> None:
    """An agent of many files: each choice is asked of the run's check as the parent's
    files with one changed (novelty.Edited, the others digested once per child), not as a
    copy of them all; and the check finds the repeat the full one finds."""
    novelty = Novelty(NoveltySettings())
    others = {f"lib/m{i}.py": f"X{i} = {i}\n".encode() for i in range(50)}
    files = {"s.py": SEARCH.encode(), **others}
    novelty.add("p1", files)
    novelty.add("c0", {**others, "s.py": SEARCH.replace("1000", "500").encode()})
    asked: list[Mapping[str, bytes]] = []

    def known(child: Mapping[str, bytes]) -> bool:
        asked.append(child)
        return novelty.seen(child)

    chat = ScriptedChat([json.dumps({"line": 2, "old": "1000", "new": "2000"})])
    parent = Parent("p1", files, [EvalView("prob", True, score=0.9)])
    ctx = MutationContext([parent], {}, chat, random.Random(3), 1, known=known)
    mutation = LineEditMutator(chat, main_file="s.py", token_share=1.0).mutate(ctx)
    assert mutation.origin["edit"]["repeats_left_out"] == 1  # 500: agent c0 already
    assert asked and all(isinstance(child, Edited) for child in asked)
    views = [child for child in asked if isinstance(child, Edited)]
    assert all(v.unchanged is views[0].unchanged for v in views)  # one digest of the others
    assert mutation.files == {**files, "s.py": SEARCH.replace("1000", "2000").encode()}
    assert dict(views[0]) == {**files, "s.py": views[0]["s.py"]} and len(views[0]) == 51


def test_no_call_is_spent_on_a_token_edit_that_can_only_repeat_an_agent() -> None:
    novelty = Novelty(NoveltySettings())
    for i, made in enumerate(["1000", "500", "800", "900", "1100", "1250", "2000"]):
        novelty.add(f"a{i}", {"s.py": SEARCH.replace("1000", made).encode()})
    chat = ScriptedChat([edit(1, "", "x = your_code")])
    parent = Parent("p1", {"s.py": SEARCH.encode()}, [EvalView("prob", True, score=0.9)])
    ctx = MutationContext([parent], {}, chat, random.Random(3), 1, known=novelty.seen)
    mutation = LineEditMutator(chat, main_file="s.py", token_share=1.0, tries=1).mutate(ctx)
    [(_prompt, schema)] = chat.sent  # one call, and it is a whole-line edit's
    assert "enum" not in schema["properties"]["new"]
    [only] = mutation.origin["tries"]
    assert "token" not in only and only["refused"]


def test_a_whole_line_answer_that_repeats_an_agent_is_refused_and_tried_again() -> None:
    repeat = TINY.replace("return 1", "return 2")
    token = json.dumps({"line": 3, "old": "1", "new": "0"})
    chat = ScriptedChat([edit(3, "return 1", "return 2"), token])
    parent = Parent("p1", {"t.py": TINY.encode()}, [EvalView("prob", True, score=1.0)])
    ctx = MutationContext(
        [parent], {}, chat, random.Random(0), 1, known=lambda f: f["t.py"] == repeat.encode()
    )
    mutation = LineEditMutator(chat, main_file="t.py", token_share=0.0, tries=2).mutate(ctx)
    first, second = mutation.origin["tries"]
    assert first["refused"] == "the edit repeats an agent of the run"
    # The retry is a token edit (after a refused line), without the choice 2 made already.
    assert chat.sent[1][1]["properties"]["new"]["enum"] == ["0"]
    assert "refused" not in second and second["new"] == "0"
    assert mutation.files == {"t.py": TINY.replace("return 1", "return 0").encode()}


def test_the_engine_tells_an_operator_which_files_are_agents_of_the_run(tmp_path: Path) -> None:
    """`MutationContext.known` is the run's own exact-duplicate check, up to date."""
    harness = Harness(tmp_path / "a.db")
    cfg = engine_config(max_iterations=1)
    run = harness.new_run(cfg)
    _, engine = harness.run(run, cfg, [learn("t1")])
    seed, child = harness.archive.agents(run)
    ctx = engine.parent_context([child.id], 2)
    assert ctx.known(harness.archive.agent_files(seed.id))
    assert ctx.known(ctx.files)  # the child recorded in this session
    assert ctx.known({**ctx.files, "__main__.py": ctx.files["__main__.py"] + b"# note\n"})
    assert not ctx.known({**ctx.files, "skills.txt": b"skills:\nt2\n"})
    harness.archive.close()


def write_problem(root: Path) -> Path:
    root.mkdir()
    (root / "problem.yaml").write_text(
        "name: tiny\nprogram: [prog.py]\nevaluator: {module: evaluator.py}\n"
        "direction: max\ntimeout_s: 60\n"
    )
    (root / "evaluator.py").write_text(
        "import importlib.util\n\n\ndef evaluate(path):\n"
        "    spec = importlib.util.spec_from_file_location('c', path)\n"
        "    m = importlib.util.module_from_spec(spec)\n    spec.loader.exec_module(m)\n"
        "    note = f'the value was {m.value()}'\n"
        "    return {'score': float(m.value()), 'twice': 2.0 * m.value(), 'note': note}\n"
    )
    (root / "prog.py").write_text(TINY)
    return root


def dgm(tmp: Path, *args: str, timeout: float = 500) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DGM), "run", "--problem", str(tmp / "tiny"), "--operator", "line_edit", *args],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_line_edit_run_refuses_broken_edits_with_their_reason_and_keeps_a_better_one(
    tmp_path: Path,
) -> None:
    write_problem(tmp_path / "tiny")
    answers = [  # the scripted model ignores the line asked for: the operator does not
        edit(3, "return 1", "return 1 +"),  # does not compile; the retry is a token edit
        edit(3, "1", "7"),  # 7 is not one of the choices (0, 2)
        edit(3, "return 1", "return )("),  # does not compile: three refusals, the expansion fails
        edit(3, "return 1", "return 5"),  # the better program
    ]
    script = tmp_path / "script.yaml"
    script.write_text(json.dumps(answers))
    proc = dgm(
        tmp_path,
        *("--model", f"scripted:{script}", "--max-iterations", "2", "--quiet"),
        *("--set", "line_edit.token_share=0"),  # whole lines, but a retry after a refusal
    )
    assert proc.returncode == 0, proc.stderr
    store = open_archive(tmp_path / ".dgm" / "archive.db", create=False)
    (run,) = store.runs()
    seed, child = store.agents(run.id)
    assert (objective(seed.score, "max"), objective(child.score, "max")) == (1.0, 5.0)
    assert child.operator == "line_edit" and child.parent_id == seed.id
    assert store.agent_files(child.id)["problem/prog.py"] == TINY.replace("1", "5").encode()
    origin = store.agent(child.id).origin or {}
    assert origin["edit"] == {"attempt": 1, "line": 3, "lines": 1, "new": "return 5"}

    # The refused expansion is on record with the reason of each try.
    (failed,) = store.events(run.id, kinds=["expansion_failed"])
    assert failed.payload["reason"].startswith(
        "no usable edit after 3 tries: the file no longer compiles: problem/prog.py:3:"
    )
    reasons = [t["refused"] for t in failed.payload["origin"]["tries"]]
    assert reasons[0].startswith("the file no longer compiles: problem/prog.py:3:")
    assert reasons[1] == "'new' must be one of 0, 2"
    assert reasons[2].startswith("the file no longer compiles: problem/prog.py:3:")

    # The child's prompt showed the parent's score, metrics and the evaluator's own feedback.
    calls = [c for c in store.llm_calls(run.id) if c.purpose == "line_edit"]
    assert len(calls) == 4
    prompt = json.loads(calls[-1].request)["messages"][0]["content"]
    assert "# Its score\n1 (higher is better)" in prompt
    assert "twice = 2" in prompt and "the value was 1" in prompt
    assert json.loads(calls[0].request)["response_format"]["type"] == "json_schema"


@pytest.mark.docker
@pytest.mark.local_model
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_bundled_model_makes_a_line_edit_child_that_is_evaluated(tmp_path: Path) -> None:
    """Not that it improves (that is the benchmark's job): that a child is made and scored."""
    write_problem(tmp_path / "tiny")
    proc = dgm(tmp_path, "--model", "local", "--max-iterations", "3", "--set", "line_edit.tries=5")
    assert proc.returncode == 0, proc.stderr
    store = open_archive(tmp_path / ".dgm" / "archive.db", create=False)
    (run,) = store.runs()
    children = [a for a in store.agents(run.id) if a.parent_id is not None]
    assert children, "no line_edit child in 3 iterations of 5 tries each"
    assert all(a.operator == "line_edit" for a in children)
    scored = [a for a in children if store.evaluations(a.id)]
    assert scored, [a.status for a in children]
    assert all(store.evaluations(a.id)[0].stage == "problem" for a in scored)


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(400)
def test_the_improvement_benchmark_counts_a_run_that_beats_its_seed(tmp_path: Path) -> None:
    """`python -m benchmarks.perf.improvement` on a problem folder with a scripted model: the
    one token edit (1 -> 2) beats the seed, and the JSON line says so."""
    problem = write_problem(tmp_path / "tiny")
    script = tmp_path / "script.yaml"
    script.write_text(json.dumps([edit(3, "1", "2")]))
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.perf.improvement", "--problem", str(problem)]
        + ["--seeds", "1", "--max-iterations", "1", "--model", f"scripted:{script}"]
        + ["--set", "line_edit.token_share=1"],
        capture_output=True,
        text=True,
        timeout=380,
        cwd=Path(__file__).parents[2],
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (out["improved_seeds"], out["seeds"], out["direction"]) == (1, 1, "max")
    (run,) = out["runs"]
    assert (run["seed_score"], run["best_score"], run["valid"], run["evaluations"]) == (
        1.0,
        2.0,
        1,
        2,
    )
    assert out["median_relative_gain"] == 1.0 and out["median_wall_s"] > 0

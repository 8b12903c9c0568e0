"""Novelty (dgm/novelty.py): normalising and similarity as pure functions, then the loop on a
real archive and a real gateway (scripted model over the socket) rejecting duplicates
before any evaluation, with workers racing, across a resume, and with the LLM judge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dgm.config import NoveltySettings, Stage, load_config
from dgm.errors import UserError
from dgm.novelty import (
    KEY_VERSION,
    Nearest,
    Novelty,
    Unchanged,
    Verdict,
    describe_counts,
    duplicate_counts,
    lines,
    normalise,
    normalise_tree,
    rejection_kind,
    similarity,
    tokens,
    tree_key,
)
from dgm.problem_run import admit_program
from tests.engine.conftest import TASKS, Harness, config, learn
from tests.engine.test_loop import NumberProblem, change

PY = b'''"""The module's docstring."""
import math


def area(r):
    """Area of a circle."""
    return math.pi * r ** 2  # the formula


LIMIT = 10
'''


def same(a: dict[str, bytes], b: dict[str, bytes]) -> bool:
    return tree_key(normalise_tree(a)) == tree_key(normalise_tree(b))


# -- normalising ----------------------------------------------------------------------------


def test_python_formatting_comments_and_docstrings_do_not_count() -> None:
    reformatted = (
        b"import math\ndef area( r ):\n    return (math.pi*r**2)\n\n\n\nLIMIT=10   # ten\n"
    )
    assert same({"a.py": PY}, {"a.py": reformatted})
    commented = PY.replace(b"LIMIT = 10", b"# a new comment\nLIMIT = 10  # still ten")
    assert same({"a.py": PY}, {"a.py": commented})
    assert (
        normalise("a.py", PY)
        == "import math\n\ndef area(r):\n    return math.pi * r ** 2\nLIMIT = 10"
    )


def test_python_a_changed_constant_or_string_is_new() -> None:
    assert not same({"a.py": PY}, {"a.py": PY.replace(b"LIMIT = 10", b"LIMIT = 11")})
    assert not same({"a.py": b"P = 'find the bug'\n"}, {"a.py": b"P = 'find the bugs'\n"})


def test_python_that_does_not_parse_is_compared_as_text() -> None:
    assert normalise("a.py", b"def f(:\n  pass   \n\n") == "def f(:\n  pass"


def test_c_family_loses_comments_and_whitespace_but_keeps_strings() -> None:
    js = b'const url = "http://example.com"; // where\n/* block\n comment */\nlet x = 1;\n'
    assert normalise("a.js", js) == 'const url = "http://example.com"; let x = 1;'
    assert same({"a.c": b"int x=1;\n"}, {"a.c": b"int x=1; /* one */\n\n"})
    assert not same({"a.c": b"int x = 1;"}, {"a.c": b"int x = 2;"})
    assert not same({"a.c": b"a - -b;"}, {"a.c": b"a --b;"})  # whitespace folded, never removed


def test_other_text_keeps_indentation_and_drops_trailing_space() -> None:
    assert same({"c.yaml": b"a:\n  b: 1\n"}, {"c.yaml": b"a:\n  b: 1   \n\n"})
    assert not same({"c.yaml": b"a:\n  b: 1\n"}, {"c.yaml": b"a:\nb: 1\n"})
    assert normalise("blob.bin", b"\xff\x00") == "ff00"


def test_a_tree_is_a_duplicate_only_with_the_same_paths() -> None:
    assert not same({"a.py": b"x = 1\n"}, {"b.py": b"x = 1\n"})
    assert not same({"a.py": b"x = 1\n"}, {"a.py": b"x = 1\n", "b.py": b""})


# -- similarity -----------------------------------------------------------------------------


def test_similarity_is_one_for_duplicates_and_falls_with_each_changed_token() -> None:
    code = tokens(normalise_tree({"a.py": PY}))
    changed = tokens(normalise_tree({"a.py": PY.replace(b"LIMIT = 10", b"LIMIT = 11")}))
    n = sum(map(len, code["a.py"]))
    assert similarity(code, code) == 1.0
    assert similarity(code, changed) == pytest.approx(1 - 1 / n)
    other = tokens(normalise_tree({"a.py": b"for i in range(3):\n    print(i, 'x')\n"}))
    assert similarity(code, other) < 0.5
    # file by file: a file matches only its namesake, so a moved file is all new
    assert similarity(code, {"b.py": code["a.py"]}) == 0.0
    two = {"a.py": code["a.py"], "b.py": [("x", "=", "1")]}
    assert similarity(two, {**two, "b.py": [("x", "=", "2")]}) == pytest.approx(1 - 1 / (n + 3))


def test_the_index_measures_as_similarity_does_and_remembers_pairs() -> None:
    index = Novelty(NoveltySettings(threshold=0.5))
    files = {f"f{i}.py": f"def f{i}(x):\n    return x + {i}\n".encode() for i in range(5)}
    index.add("seed", files)
    child = {**files, "f0.py": b"def f0(x):\n    return x * 2 + 0\n"}
    found = index.check(child)
    expected = similarity(tokens(normalise_tree(files)), tokens(normalise_tree(child)))
    assert isinstance(found, Verdict) and found.similarity == pytest.approx(expected)
    assert len(index._matched) == 1  # the four equal files needed no difflib


def test_the_index_names_the_first_twin_and_the_nearest_agent() -> None:
    index = Novelty(NoveltySettings(threshold=0.9))
    index.add("seed", {"a.py": PY})
    index.add("other", {"a.py": b"print('unrelated')\n"})
    index.add("copy", {"a.py": PY + b"# same\n"})
    found = index.check({"a.py": PY.replace(b"area(r)", b"area( r )")})
    assert found == Verdict("duplicate", "seed", 1.0)
    assert found.reason == "duplicate: same code as agent seed after normalising"
    near = index.check({"a.py": PY.replace(b"LIMIT = 10", b"LIMIT = 11")})
    assert isinstance(near, Verdict) and near.kind == "near-duplicate" and near.twin == "seed"
    assert near.reason.startswith("near-duplicate: 0.9") and near.reason.endswith("agent seed")
    assert index.check({"a.py": b"print('something else entirely', 42)\n"}) is None


def test_without_a_threshold_only_exact_duplicates_are_rejected() -> None:
    index = Novelty(NoveltySettings())
    index.add("seed", {"a.py": PY})
    assert index.check({"a.py": PY.replace(b"LIMIT = 10", b"LIMIT = 11")}) is None
    assert index.trees == {} and index.file_tokens == {}  # nothing kept that is not used
    off = Novelty(NoveltySettings(duplicates=False))
    off.add("seed", {"a.py": PY})
    assert not off.enabled and off.check({"a.py": PY}) is None


def test_with_a_judge_the_cases_between_its_bound_and_the_threshold_are_asked() -> None:
    class NeverCalled:
        def complete(self, *a: object, **kw: object) -> str:
            raise AssertionError("check never calls the model")

    index = Novelty(
        NoveltySettings(threshold=0.99, judge_model="m", judge_from=0.5), judge=NeverCalled()
    )
    index.add("seed", {"a.py": PY})
    found = index.check({"a.py": PY.replace(b"LIMIT = 10", b"LIMIT = 11")})
    assert isinstance(found, Nearest) and found.twin == "seed" and 0.9 < found.similarity < 0.99


def test_rejection_reasons_are_counted_by_kind() -> None:
    reasons = [
        "duplicate: same code as agent a after normalising",
        "near-duplicate: 0.970 similar to agent b",
        "duplicate: same code as agent c after normalising",
        "does not compile: a.py:1: invalid syntax",
        None,
    ]
    assert rejection_kind(reasons[1]) == "near-duplicate" and rejection_kind(reasons[3]) is None
    counts = duplicate_counts(reasons)
    assert counts == {"duplicate": 2, "near-duplicate": 1}
    assert describe_counts(counts) == "3 (2 duplicate, 1 near-duplicate)"
    assert describe_counts(duplicate_counts([])) == "0"


# -- the config -----------------------------------------------------------------------------


def test_the_novelty_section_is_set_on_the_command_line() -> None:
    cfg = load_config(None, assignments=["novelty.threshold=0.95", "novelty.judge_model=local"])
    assert cfg.novelty.threshold == 0.95 and cfg.novelty.judge_model == "local"
    assert load_config(None).novelty == NoveltySettings(duplicates=True, threshold=None)
    with pytest.raises(UserError, match="novelty.threshold"):
        load_config(None, assignments=["novelty.threshold=1.5"])
    with pytest.raises(UserError, match="judge_from .0.9. must be below threshold .0.8."):
        load_config(None, assignments=["novelty.threshold=0.8", "novelty.judge_model=local"])


# -- in a run -------------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [None, 0.999], ids=["exact", "compared-in-a-thread"])
def test_two_children_with_the_same_edit_in_flight_at_once_cost_one_evaluation(
    harness: Harness, threshold: float | None
) -> None:
    """Two workers expand the seed at the same time and the model gives both the same edit:
    the second child recorded is a duplicate of the first, never evaluated (also when the
    comparison with every agent awaits a worker thread)."""
    cfg = config(workers=2, max_iterations=2, novelty=NoveltySettings(threshold=threshold))
    run = harness.new_run(cfg)
    reason, _ = harness.run(run, cfg, [learn("t1"), learn("t1")])
    assert reason == "done: 2 iterations"
    seed, first, second = harness.archive.agents(run)
    assert first.parent_id == second.parent_id == seed.id  # both made from the seed at once
    assert first.status == "evaluated" and second.status == "rejected"
    assert second.reason == f"duplicate: same code as agent {first.id} after normalising"
    assert harness.archive.evaluations(second.id) == []
    assert len(harness.evaluated_pairs(run)) == 2 * len(TASKS)  # the seed's and the first's
    origin = harness.archive.agent(second.id).origin
    assert origin["duplicate_of"] == first.id and origin["similarity"] == 1.0


def test_a_comment_only_edit_is_a_duplicate_of_its_parent(harness: Harness) -> None:
    comment = "__main__.py\n<<<<<<< SEARCH\np.parse_args()\n=======\np.parse_args()  # parse them\n>>>>>>> REPLACE\n"
    cfg = config(max_iterations=1)
    run = harness.new_run(cfg)
    harness.run(run, cfg, [comment])
    seed, child = harness.archive.agents(run)
    assert child.status == "rejected"
    assert child.reason == f"duplicate: same code as agent {seed.id} after normalising"
    assert harness.archive.evaluations(child.id) == []


def test_a_resumed_run_finds_the_twin_in_the_archive(harness: Harness) -> None:
    cfg = config(selector="best", max_iterations=1)
    run = harness.new_run(cfg)
    harness.run(run, cfg, [learn("t1")])
    forget = "skills.txt\n<<<<<<< SEARCH\nskills:\nt1\n=======\nskills:\n>>>>>>> REPLACE\n"
    more = cfg.model_copy(update={"max_iterations": 2})
    harness.run(run, more, [forget])  # a new session: the index is rebuilt from the archive
    seed, learned, forgot = harness.archive.agents(run)
    assert forgot.parent_id == learned.id
    assert forgot.reason == f"duplicate: same code as agent {seed.id} after normalising"
    assert harness.archive.evaluations(forgot.id) == []
    keys = harness.archive.content_keys(run)  # stored at admission, what a resume reads
    assert set(keys) == {seed.id, learned.id, forgot.id} and keys[forgot.id] == keys[seed.id]
    assert keys[learned.id] != keys[seed.id] and keys[seed.id].startswith(f"{KEY_VERSION}:")


def test_a_resume_with_the_exact_check_reads_no_agent_files() -> None:
    """From the keys stored at admission alone; files only for an agent without a current
    key (recorded before keys, or under an older normalisation), or when similarity is on."""
    exact = Novelty(NoveltySettings())
    keys = {"a": exact.key({"x.py": b"x = 1\n"}), "b": exact.key({"x.py": b"x = 2\n"})}
    stored = {k: v for k, v in keys.items() if v is not None}

    def unread(agent_id: str) -> dict[str, bytes]:
        raise AssertionError(f"read the files of {agent_id}")

    resumed = Novelty(NoveltySettings())
    assert resumed.rebuild(["a", "b"], stored, unread) == 0
    verdict = resumed.check({"x.py": b"x = 2  # the same\n"})
    assert isinstance(verdict, Verdict) and verdict.twin == "b"

    files = {"a": {"x.py": b"x = 1\n"}, "b": {"x.py": b"x = 2\n"}, "c": {"x.py": b"x = 3\n"}}
    stale = {"a": "n0:" + stored["a"].partition(":")[2], "b": stored["b"]}
    read: list[str] = []

    def files_of(agent_id: str) -> dict[str, bytes]:
        read.append(agent_id)
        return files[agent_id]

    assert Novelty(NoveltySettings()).rebuild(["a", "b", "c"], stale, files_of) == 2
    assert read == ["a", "c"]
    similar = Novelty(NoveltySettings(threshold=0.9))
    assert similar.rebuild(["a", "b"], stored, files_of) == 2, "similarity needs the code"
    assert Novelty(NoveltySettings(duplicates=False)).key(files["a"]) is None


def test_a_problem_run_rejects_a_whitespace_only_change(harness: Harness) -> None:
    cfg = config(selector="best", max_iterations=2, stages=[Stage(name="problem", tasks=["t1"])])
    run = harness.archive.create_run("p", config=cfg.model_dump(), seed=1, direction="min")
    harness.run(
        run,
        cfg,
        [change("10", "7"), change("7", "7   ")],
        evaluator=NumberProblem(harness.archive),
        seed={"value.txt": b"10\n"},
        direction="min",
        admit=admit_program,
    )
    seed, better, spaced = harness.archive.agents(run)
    assert better.status == "evaluated" and spaced.parent_id == better.id
    assert spaced.reason == f"duplicate: same code as agent {better.id} after normalising"
    assert harness.archive.evaluations(spaced.id) == []


JUDGE_SAYS = "An existing program and a proposed one differ by this diff"


def test_the_judge_decides_the_near_duplicates_through_the_gateway(harness: Harness) -> None:
    """The judge, a second model of the run's gateway, answers under a JSON schema: the
    first child 'only adds a line' (rejected, never evaluated), the second is new."""
    novelty = NoveltySettings(judge_model="scripted:judge", judge_from=0.5)
    cfg = config(max_iterations=2, novelty=novelty)
    run = harness.new_run(cfg)
    verdicts = [("only adds a line", False), ("a new skill", True)]
    harness.run(
        run,
        cfg,
        [learn("t1"), learn("t2")],
        judge_script=[json.dumps({"explanation": e, "novel": n}) for e, n in verdicts],
    )
    seed, judged, new = harness.archive.agents(run)
    assert judged.status == "rejected" and harness.archive.evaluations(judged.id) == []
    assert judged.reason.startswith("near-duplicate: 0.9")
    assert judged.reason.endswith(f"similar to agent {seed.id}, judged not new: only adds a line")
    assert new.status == "evaluated" and len(harness.archive.evaluations(new.id)) == len(TASKS)
    calls = [c for c in harness.archive.llm_calls(run) if c.purpose == "novelty_judge"]
    assert [c.model for c in calls] == ["scripted:judge"] * 2
    request = json.loads(calls[0].request)
    assert request["response_format"]["json_schema"]["schema"]["required"] == [
        "explanation",
        "novel",
    ]
    assert JUDGE_SAYS in request["messages"][-1]["content"]
    assert "+t1" in request["messages"][-1]["content"]  # the diff from the twin


def test_a_judge_that_fails_leaves_the_child_to_be_evaluated(harness: Harness) -> None:
    class Broken:
        def complete(self, *a: object, **kw: object) -> str:
            return "not json"

    cfg = config(max_iterations=1, novelty=NoveltySettings(judge_model="x", judge_from=0.5))
    run = harness.new_run(cfg)
    harness.run(run, cfg, [learn("t1")], judge=Broken())
    child = harness.archive.agents(run)[1]
    assert child.status == "evaluated"
    (failed,) = harness.archive.events(run, kinds=["novelty_judge_failed"])
    assert failed.payload["reason"].startswith("ValueError: the judge's answer is not JSON")


# -- `dgm run`, `dgm report` and the UI: a problem run in the local sandbox -----------------

PROBLEM = {
    "problem.yaml": "name: num\nprogram: [program.py]\nevaluator: {module: evaluator.py}\n"
    "direction: max\ntimeout_s: 30\n",
    "program.py": "def solve():\n    return 1.0\n",
    "evaluator.py": "import importlib.util\n\ndef evaluate(path):\n"
    "    spec = importlib.util.spec_from_file_location('c', path)\n"
    "    m = importlib.util.module_from_spec(spec)\n    spec.loader.exec_module(m)\n"
    "    return {'score': m.solve()}\n",
}


def edit(old: str, new: str) -> str:
    return f"problem/program.py\n<<<<<<< SEARCH\n{old}\n=======\n{new}\n>>>>>>> REPLACE\n"


@pytest.mark.bwrap
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_dgm_run_report_and_ui_count_the_duplicates(tmp_path: Path) -> None:
    """A real `dgm run` (the local sandbox scores every program): the judge is a model of
    its own, served by the run's gateway; one child repeats its parent with a comment, one
    only changes a constant and the judge calls it not new. Neither is evaluated, and the
    end summary, the report and the run page count them."""
    import os
    import re
    import subprocess
    import sys

    import yaml

    from archive import open_archive
    from dgm.ui.pages import run_page

    problem = tmp_path / "num"
    problem.mkdir()
    for name, text in PROBLEM.items():
        (problem / name).write_text(text)
    (tmp_path / "model.yaml").write_text(
        yaml.safe_dump(
            [
                edit("    return 1.0", "    return 2.0"),
                edit("    return 2.0", "    return 2.0  # two"),
                edit("    return 2.0", "    return 2.5"),
            ]
        )
    )
    answers = [("a bigger number", True), ("only a constant changed", False)]
    (tmp_path / "judge.yaml").write_text(
        yaml.safe_dump([json.dumps({"explanation": e, "novel": n}) for e, n in answers])
    )
    dgm = Path(sys.executable).parent / "dgm"
    args = [
        *("run", "--problem", str(problem), "--operator", "diff", "--selector", "best"),
        *("--model", f"scripted:{tmp_path / 'model.yaml'}", "--sandbox", "local"),
        *("--max-iterations", "3", "--workers", "1", "--quiet"),
        *("--set", f"novelty.judge_model=scripted:{tmp_path / 'judge.yaml'}"),
        *("--set", "novelty.judge_from=0.5"),
    ]
    wide = {**os.environ, "COLUMNS": "200"}  # one table row per line
    proc = subprocess.run([str(dgm), *args], cwd=tmp_path, capture_output=True, text=True, env=wide)
    assert proc.returncode == 0, proc.stderr
    row = r"duplicates rejected\s*│\s*2 \(1 duplicate, 1 near-duplicate\), not evaluated"
    assert re.search(row, proc.stderr), proc.stderr

    archive = open_archive(tmp_path / ".dgm" / "archive.db", create=False)
    (run,) = archive.runs()
    seed, two, comment, constant = archive.agents(run.id)
    assert two.status == "evaluated" and two.parent_id == seed.id
    assert comment.reason == f"duplicate: same code as agent {two.id} after normalising"
    assert constant.reason.startswith("near-duplicate: ") and constant.reason.endswith(
        f"similar to agent {two.id}, judged not new: only a constant changed"
    )
    assert [len(archive.evaluations(a.id)) for a in (seed, two, comment, constant)] == [1, 1, 0, 0]
    judged = [c for c in archive.llm_calls(run.id, bodies=False) if c.purpose == "novelty_judge"]
    assert [c.model for c in judged] == ["scripted:judge.yaml"] * 2  # its own model, one gateway

    report = subprocess.run(
        [str(dgm), "report", run.id, "--out", str(tmp_path / "r")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert report.returncode == 0, report.stderr
    text = (tmp_path / "r" / "report.md").read_text()
    assert "- duplicates rejected, not evaluated: 2 (1 duplicate, 1 near-duplicate)" in text
    assert "- rejected, duplicate: 1" in text and "- rejected, near-duplicate: 1" in text
    page = run_page(archive, run.id)
    assert (
        "<dt>duplicates</dt><dd>2 (1 duplicate, 1 near-duplicate) rejected, not evaluated" in page
    )


def test_lines_cut_folded_c_code_into_statements() -> None:
    assert lines("int x = 1; if (x) { y(); }") == [
        ("int", "x", "=", "1", ";"),
        ("if", "(", "x", ")", "{"),
        ("y", "(", ")", ";"),
        ("}",),
    ]


def test_an_edited_view_keys_as_the_full_child_does() -> None:
    """novelty.Edited: a parent's files with one changed, keyed from that file and the
    others' digests; equal to the full tree's key, so `seen` answers as for a copy."""
    parent = {"a.py": b"x = 1\n", "b.py": b"def f():\n    return 2\n", "c.txt": b"hi\n"}
    unchanged = Unchanged(parent, "b.py")
    for data in (b"def f():\n    return 3\n", b"def f():  # same code\n    return 2\n"):
        view = unchanged.edited(data)
        full = {**parent, "b.py": data}
        assert dict(view) == full and len(view) == 3
        assert view.key() == tree_key(normalise_tree(full))
    # The key stored with agents before the view existed, unchanged (KEY_VERSION stays).
    stored = "fb3e40c881c94c24aa00c279f8c9d4ec8c943ce0d237decf85364dec34360ce0"
    assert tree_key(normalise_tree(parent)) == stored
    assert unchanged.edited(parent["b.py"]).key() == stored
    novelty = Novelty(NoveltySettings())
    novelty.add("p", parent)
    assert novelty.seen(unchanged.edited(b'def f():\n    """doc"""\n    return 2\n'))
    assert not novelty.seen(unchanged.edited(b"def f():\n    return 3\n"))

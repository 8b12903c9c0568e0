"""`python -m benchmarks.perf.peer_openevolve`: dgm and OpenEvolve (its PyPI release, in an
environment of its own) on one problem, served the same edits by one local server.

The problem is the OpenEvolve-layout function minimisation that tests/problems writes (the
project's own small version of OpenEvolve's example: no OpenEvolve code is copied here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.perf import peer_openevolve as peer
from dgm.mutators.line_edit import (
    Edit,
    apply_edit,
    edit_schema,
    editable_lines,
    old_text,
    refusal,
)
from tests.problems.layouts import OE_PROGRAM, write_openevolve

KEYS = {
    "dgm_iter_per_s",
    "openevolve_iter_per_s",
    "ratio",
    "dgm_peak_mib",
    "openevolve_peak_mib",
    "iterations",
    "parallel",
    "dgm_calls",
    "openevolve_calls",
    "dgm_cpu_s",
    "openevolve_cpu_s",
}


def test_openevolve_edit_is_a_block_that_applies_to_the_current_program() -> None:
    other = OE_PROGRAM.replace("iterations=200", "iterations=7")
    prompt = f"# Top programs\n```python\n{other}\n```\n# Current Program\n```python\n{OE_PROGRAM}\n```\n"
    text = peer.openevolve_answer(4, prompt)
    search, replace = (
        text.split("<<<<<<< SEARCH\n")[1].split(">>>>>>> REPLACE")[0].split("=======\n")
    )
    assert OE_PROGRAM.count(search) == 1  # the current program's line, not the other one's
    child = OE_PROGRAM.replace(search, replace)
    compile(child, "child.py", "exec")
    assert "peer_edit = 1005\ndef search_algorithm(iterations=200" in child


def runs() -> list[tuple[int, int]]:
    """Every single line line_edit may draw, and two-line runs that stay in their block (a
    run whose later lines sit left of its first cannot be kept by any answer: line_edit
    indents the new code as the first line)."""
    lines = editable_lines(OE_PROGRAM)
    assert len(lines) > 5
    source = OE_PROGRAM.splitlines()
    indent = [len(s) - len(s.lstrip()) for s in source]
    pairs = [(n, 2) for n in lines if n < len(source) and indent[n] >= indent[n - 1] > 0]
    assert pairs
    return [(n, 1) for n in lines] + pairs


def test_dgm_edit_is_json_line_edit_applies_and_compiles() -> None:
    """Whatever lines line_edit draws (a statement, a header, an indented body line, two in
    a row), the answer is accepted by the operator's own code and changes the program."""
    for line, count in runs():
        old = old_text(OE_PROGRAM, line, count)
        request = {"response_format": {"json_schema": {"schema": edit_schema(line, old)}}}
        answer = json.loads(peer.dgm_answer(2, request))
        assert (answer["line"], answer["old"]) == (line, old)
        child = apply_edit(OE_PROGRAM, Edit(line, count, answer["new"]), max_lines=3)
        assert refusal("program.py", OE_PROGRAM, child) is None, (line, count, child)
        assert "peer_edit = 1003" in child


def test_without_examples_it_says_what_to_pass() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.perf.peer_openevolve"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "--openevolve-examples DIR" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_both_tools_run_their_iterations(tmp_path: Path) -> None:
    write_openevolve(tmp_path / "examples" / peer.EXAMPLE)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.perf.peer_openevolve",
            "--openevolve-examples",
            str(tmp_path / "examples"),
            "--iterations",
            "3",
            "--parallel",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=850,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    [line] = done.stdout.strip().splitlines()
    out = json.loads(line)
    assert KEYS <= set(out)
    # the one server answered each tool once per iteration: both really ran
    assert out["openevolve_calls"] == 3
    assert out["dgm_calls"] >= 3  # a refused try (see runs()) asks again
    assert (out["iterations"], out["parallel"]) == (3, 2)
    # every iteration made a child that dgm scored: the seed's evaluation and theirs
    assert (out["dgm_children"], out["dgm_evaluations"]) == (3, 4)
    assert out["dgm_iter_per_s"] > 0 and out["openevolve_iter_per_s"] > 0
    assert out["ratio"] == pytest.approx(
        out["dgm_iter_per_s"] / out["openevolve_iter_per_s"], rel=0.01
    )
    assert out["dgm_peak_mib"] > 20 and out["openevolve_peak_mib"] > 20
    assert 0.3 < out["dgm_cpu_s"] < 600 and 0.3 < out["openevolve_cpu_s"] < 600
    assert 0 < out["dgm_sandbox_cpu_s"] < 600

"""Problem outputs (benchmarks/problems/evaluate.py reading what an evaluator left): any
stdout, exit and result file is an Evaluation, never an exception; an ok one has a finite
score, a failed one no score and a one-line reason; reading twice gives the same result."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.problems import load
from benchmarks.problems.evaluate import read_result
from benchmarks.problems.result import Evaluation, finite_metrics
from sandbox import ExecResult, Status
from tests.properties.settings import FEW

pytestmark = pytest.mark.timeout(120)

BASE = load("tsp_constructive")
PROBLEMS = [
    dataclasses.replace(BASE, reader=reader, layout=layout)
    for reader, layout in [
        ("result_file", "dgm"),
        ("result_file", "openevolve"),
        ("json_line", "dgm"),
        ("reevo_stdout", "reevo"),
    ]
]
numbers = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400),  # past a float's range too
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.dictionaries(st.just("repr"), st.text(max_size=5), max_size=1),
)
metrics = st.dictionaries(st.sampled_from(["score", "combined_score", "x", "y"]), numbers)


def json_text(value: object) -> str:
    return json.dumps(value)  # NaN and Infinity as Python writes them (not strict JSON)


stdouts = st.one_of(
    st.text(max_size=200),
    metrics.map(json_text),
    numbers.map(json_text),
    st.lists(st.floats(allow_nan=True) | st.text(max_size=8), max_size=4).map(
        lambda xs: "".join(f"{x}\n" for x in xs)
    ),
)
result_files = st.one_of(
    st.binary(max_size=60),
    metrics.map(lambda m: json_text({"metrics": m}).encode()),
    st.builds(
        lambda m, a: json_text({"metrics": m, "artifacts": a}).encode(),
        metrics,
        st.dictionaries(st.text(max_size=4), st.text(max_size=10), max_size=2),
    ),
)
results = st.builds(
    ExecResult,
    status=st.sampled_from(list(Status)),
    exit_code=st.integers(min_value=-9, max_value=255),
    stdout=stdouts,
    stderr=st.text(max_size=60),
    duration_s=st.floats(min_value=0, max_value=1e4),
    stdout_truncated=st.booleans(),
    flooded=st.booleans(),
)


@FEW
@given(
    st.sampled_from(PROBLEMS),
    results,
    st.dictionaries(st.sampled_from(["result.json", "violations", "error"]), result_files),
)
def test_any_output_reads_as_an_evaluation(p, r: ExecResult, reports: dict[str, bytes]) -> None:  # type: ignore[no-untyped-def]
    e = read_result(p, r, reports)
    assert isinstance(e, Evaluation)
    if e.ok:
        assert e.score is not None and math.isfinite(e.score) and e.failure is None
    else:
        assert e.score is None and e.failure and "\n" not in e.failure.strip()
    assert all(math.isfinite(v) for v in e.metrics.values())
    assert read_result(p, r, reports) == e  # reading is a pure function of the output


@FEW
@given(metrics)
def test_finite_metrics_keeps_only_finite_numbers_and_is_idempotent(m: dict[str, object]) -> None:
    kept = finite_metrics(m)
    assert all(type(v) is float and math.isfinite(v) for v in kept.values())
    assert finite_metrics(dict(kept)) == kept


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("p", PROBLEMS, ids=lambda p: f"{p.reader}-{p.layout}")
def test_json_nested_past_the_parser_is_a_failed_evaluation(p) -> None:  # type: ignore[no-untyped-def]
    r = ExecResult(status=Status.ok, exit_code=0, stdout=DEEP, stderr="", duration_s=1.0)
    for reports in (
        {},
        {"result.json": DEEP.encode()},
        {"result.json": b'{"metrics": ' + DEEP.encode() + b"}"},
    ):
        e = read_result(p, r, reports)
        assert not e.ok and e.score is None and e.failure


@FEW
@given(st.integers(min_value=300, max_value=2000), st.floats(-1e6, 1e6))
def test_a_long_metrics_line_is_read_whole(pad: int, score: float) -> None:
    """The evaluator's last line is parsed whole: cut at 300 characters a valid line would be
    refused, and a long number read as another one."""
    p = PROBLEMS[2]  # json_line
    line = json.dumps({p.primary: score, "note_" + "x" * pad: 1})
    r = ExecResult(status=Status.ok, exit_code=0, stdout=line + "\n", stderr="", duration_s=1.0)
    e = read_result(p, r, {})
    assert e.ok and e.score == score, e.failure


@pytest.mark.parametrize("digits", [309, 400, 4000])
def test_an_integer_past_a_float_is_no_score(digits: int) -> None:
    p = PROBLEMS[2]  # json_line
    r = ExecResult(status=Status.ok, exit_code=0, stdout="9" * digits, stderr="", duration_s=1.0)
    e = read_result(p, r, {})
    assert not e.ok and e.score is None and e.failure
    assert "not a finite number" in e.failure or "not a number" in e.failure


@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_a_reevo_objective_that_is_not_finite_stays_out_of_the_metrics(value: str) -> None:
    r = ExecResult(status=Status.ok, exit_code=0, stdout=f"{value}\n", stderr="", duration_s=1.0)
    e = read_result(PROBLEMS[3], r, {})
    assert not e.ok and e.metrics == {}
    json.dumps(e.model_dump(), allow_nan=False)  # what `dgm problem score --json` prints

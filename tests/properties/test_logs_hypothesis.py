"""Test logs and instance files: the pytest parser (benchmarks/log_parsers.py) and grading
(benchmarks/grading.py), the official SWE-bench parsers behind benchmarks/swebench.py, and
instance loading. Any text gives statuses or the module's own error, never a crash; a
rendered summary parses back to itself; parsing its own rendering again changes nothing."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import swebench
from benchmarks.grading import PASSING, grade_log
from benchmarks.log_parsers import STATUSES, parse_log_pytest
from benchmarks.swebench import SWEBenchError, load_instances, to_task
from benchmarks.task import Task
from tests.properties.settings import FEW

pytestmark = pytest.mark.timeout(180)

# A pytest test id as `-rA` prints it: path::name, maybe [params] (spaces and brackets inside).
test_ids = st.builds(
    lambda path, name, params: f"tests/{path}.py::{name}{params}",
    st.from_regex(r"[a-z_]{1,8}", fullmatch=True),
    st.from_regex(r"test_[a-z0-9_]{1,10}", fullmatch=True),
    st.one_of(st.just(""), st.from_regex(r"\[[a-z0-9 ,.\-]{0,10}\]", fullmatch=True)),
).filter(lambda t: not t.endswith(" ") and " - " not in t)
logs = st.one_of(
    st.text(max_size=300),
    st.lists(
        st.one_of(
            st.builds(lambda s, t: f"{s} {t}", st.sampled_from(STATUSES), st.text(max_size=30)),
            st.text(max_size=30),
        ),
        max_size=8,
    ).map("\n".join),
)
statuses = st.dictionaries(test_ids, st.sampled_from(STATUSES), max_size=6)


def render(found: dict[str, str]) -> str:
    """The `-rA` short summary pytest would print for these results."""
    return "\n".join(f"{status} {test}" for test, status in found.items()) + "\n"


@FEW
@given(logs)
def test_any_log_parses_to_known_statuses(log: str) -> None:
    found = parse_log_pytest(log)
    assert all(isinstance(k, str) and k and v in STATUSES for k, v in found.items())


@FEW
@given(statuses)
def test_a_summary_parses_back_to_its_statuses_and_reparsing_is_idempotent(
    found: dict[str, str],
) -> None:
    parsed = parse_log_pytest(render(found))
    assert parsed == found
    assert parse_log_pytest(render(parsed)) == parsed


@FEW
@given(statuses, st.lists(test_ids, max_size=3), st.lists(test_ids, max_size=3))
def test_grading_never_fails_and_resolves_only_when_every_test_passed(
    found: dict[str, str], f2p: list[str], p2p: list[str]
) -> None:
    task = Task(
        instance_id="x__x-1",
        repo="x/x",
        base_commit="c",
        problem_statement="p",
        patch="",
        test_patch="",
        FAIL_TO_PASS=f2p,
        PASS_TO_PASS=p2p,
    )
    result = grade_log(task, render(found))
    wanted = [*f2p, *p2p]
    assert result.resolved == all(found.get(t) in PASSING for t in wanted)
    assert result.tests == {t: found.get(t, "MISSING") for t in wanted}


# The official parsers, through benchmarks/swebench.py, for three repositories' log styles.
REPOS = {
    "django__django-11066": "django/django",
    "sympy__sympy-13551": "sympy/sympy",
    "astropy__astropy-14369": "astropy/astropy",
}


def raw_instance(instance_id: str, tests: list[str]) -> dict[str, Any]:
    return {
        "instance_id": instance_id,
        "repo": REPOS[instance_id],
        "base_commit": "",
        "problem_statement": "",
        "patch": "",
        "test_patch": "",
        "version": "",
        "FAIL_TO_PASS": tests,
        "PASS_TO_PASS": [],
    }


@FEW
@given(st.sampled_from(sorted(REPOS)), logs, st.lists(test_ids, min_size=1, max_size=2))
def test_official_grading_of_any_log_is_a_result_or_its_own_error(
    instance_id: str, log: str, tests: list[str]
) -> None:
    raw = raw_instance(instance_id, tests)
    try:
        result = swebench.grade_log(to_task(raw), raw, log)
    except SWEBenchError as e:
        assert str(e)
        return
    assert set(result.tests) == set(tests)
    assert not result.resolved or all(result.tests[t] != "MISSING" for t in tests)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "instance_id",
                    "repo",
                    "base_commit",
                    "problem_statement",
                    "patch",
                    "test_patch",
                    "FAIL_TO_PASS",
                    "PASS_TO_PASS",
                    "version",
                    "x",
                ]
            ),
            inner,
            max_size=9,
        )
    ),
    max_leaves=12,
)


@FEW
@given(
    st.one_of(st.binary(max_size=120), json_values.map(lambda v: json.dumps(v).encode())),
    st.sampled_from([".json", ".jsonl"]),
)
def test_any_instance_file_loads_as_tasks_or_its_own_error(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"instances{suffix}"
        path.write_bytes(data)
        try:
            tasks = [to_task(r) for r in load_instances(str(path))]
        except SWEBenchError as e:
            assert str(e) and "\n" not in str(e)
            return
    assert all(isinstance(t, Task) for t in tasks)
    assert [to_task(t.model_dump()) for t in tasks] == tasks  # a task reads back as itself

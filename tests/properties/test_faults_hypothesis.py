"""Classes of hostile input, as properties: any `.dgm/cluster.json` never lets `cluster
down` act on a folder without the cluster's marker; any timeout a layout's config gives is
a real deadline or a ProblemError; any SWE-bench instance file is tasks or a SWEBenchError,
never another exception; the budget's marks are announced once each, in order."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.problems.problem import MAX_SECONDS, ProblemError, checked_timeout
from benchmarks.swebench import SWEBenchError, load_tasks
from dgm.accounting import MARKS, crossed
from dgm.errors import UserError
from dgm.executors.cluster_state import ClusterState, check_owned
from tests.properties.settings import FEW

pytestmark = pytest.mark.timeout(180)


@FEW
@given(
    temp_dir=st.one_of(
        st.sampled_from(["", "/", ".", "relative", "/tmp", "/etc"]), st.text(max_size=40)
    ),
    token=st.text(max_size=40),
)
def test_no_state_file_proves_a_folder_without_the_marker(temp_dir: str, token: str) -> None:
    with pytest.raises(UserError):
        check_owned(ClusterState(address="127.0.0.1:1", temp_dir=temp_dir, token=token))


@FEW
@given(
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.text(max_size=12),
        st.sampled_from([".inf", "-.inf", ".nan", "1e300", "-5", "0", "20"]),
    )
)
def test_a_config_timeout_is_a_real_deadline_or_refused(value: object) -> None:
    try:
        seconds = checked_timeout(value, "cfg")
    except ProblemError as e:
        assert "\n" not in str(e) and "out of range" in str(e)
        return
    assert math.isfinite(seconds) and 0 < seconds <= MAX_SECONDS


ids = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["../../../../x", "a/b", "a?b", "x__x-1", "..", ".hidden", "a b"]),
    st.integers(),
    st.none(),
)
instance = st.fixed_dictionaries(
    {
        "instance_id": ids,
        "repo": st.just("x/x"),
        "base_commit": st.just("c"),
        "problem_statement": st.just("p"),
        "patch": st.just(""),
        "test_patch": st.just(""),
    }
)


@FEW
@given(rows=st.lists(instance, max_size=4), suffix=st.sampled_from([".json", ".jsonl"]))
def test_any_instance_file_is_tasks_or_one_error(
    rows: list[dict[str, object]], suffix: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("swe") / f"i{suffix}"
    text = json.dumps(rows) if suffix == ".json" else "".join(json.dumps(r) + "\n" for r in rows)
    path.write_text(text)
    try:
        tasks, _ = load_tasks(str(path))
    except SWEBenchError as e:
        assert "\n" not in str(e)
        return
    names = [t.instance_id for t in tasks]
    assert tasks and len(set(names)) == len(names)
    for name in names:  # safe in an image name, a URL and a path
        assert "/" not in name and ".." not in name and "?" not in name and " " not in name


@FEW
@given(st.lists(st.floats(0, 10), max_size=20), st.floats(0.01, 5))
def test_each_mark_is_announced_once_when_first_reached(steps: list[float], budget: float) -> None:
    announced: set[float] = set()
    spent, said = 0.0, []
    for step in steps:
        spent += step
        for mark in crossed(spent, budget, announced):
            assert spent >= mark * budget
            said.append(mark)
    assert said == sorted(said) and len(said) == len(set(said))
    assert set(said) == {m for m in MARKS if spent >= m * budget}


def test_a_deep_instance_file_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 50_000 + "]" * 50_000)
    with pytest.raises(SWEBenchError, match="nested too deeply"):
        load_tasks(str(path))

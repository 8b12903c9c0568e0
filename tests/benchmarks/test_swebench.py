"""Loading real SWE-bench instances, and the clear errors where a piece is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import swebench
from benchmarks.suites import SuiteError, open_suite

INSTANCE = {
    "instance_id": "psf__requests-1963",
    "repo": "psf/requests",
    "base_commit": "110048f9837f8441ea536804115e80b69f400277",
    "problem_statement": "`Session.resolve_redirects` copies the original request for all subsequent requests",
    "patch": "diff --git a/requests/sessions.py b/requests/sessions.py\n",
    "test_patch": "diff --git a/test_requests.py b/test_requests.py\n",
    "FAIL_TO_PASS": json.dumps(
        ["test_requests.py::RequestsTestCase::test_requests_are_updated_each_time"]
    ),
    "PASS_TO_PASS": json.dumps(["test_requests.py::RequestsTestCase::test_basic_building"]),
    "version": 2.3,
    "environment_setup_commit": "110048f9837f8441ea536804115e80b69f400277",
    "created_at": "2014-03-15T16:35:33Z",
    "hints_text": "",
}


def test_json_and_jsonl_load_to_tasks(tmp_path: Path) -> None:
    (tmp_path / "one.json").write_text(json.dumps(INSTANCE))
    (tmp_path / "many.json").write_text(
        json.dumps([INSTANCE, {**INSTANCE, "instance_id": "x__y-1"}])
    )
    (tmp_path / "many.jsonl").write_text(
        json.dumps(INSTANCE) + "\n\n" + json.dumps({**INSTANCE, "instance_id": "x__y-1"}) + "\n"
    )
    for name, n in (("one.json", 1), ("many.json", 2), ("many.jsonl", 2)):
        tasks = open_suite(f"swebench:{tmp_path / name}").tasks()
        assert len(tasks) == n
        t = tasks[0]
        assert t.FAIL_TO_PASS == [
            "test_requests.py::RequestsTestCase::test_requests_are_updated_each_time"
        ]
        assert t.version == "2.3" and t.repo == "psf/requests"


def test_bad_sources_are_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="no such file"):
        open_suite(f"swebench:{tmp_path / 'missing.jsonl'}").tasks()
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(SuiteError, match="not valid JSON"):
        open_suite(f"swebench:{tmp_path / 'bad.json'}").tasks()
    (tmp_path / "partial.json").write_text(json.dumps({"instance_id": "a"}))
    with pytest.raises(SuiteError, match="lacks repo, base_commit"):
        open_suite(f"swebench:{tmp_path / 'partial.json'}").tasks()


def test_parquet_loads_like_jsonl(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.Table.from_pylist([INSTANCE, {**INSTANCE, "instance_id": "x__y-1"}]),
        tmp_path / "lite.parquet",
    )
    tasks = open_suite(f"swebench:{tmp_path / 'lite.parquet'}").tasks()
    assert [t.instance_id for t in tasks] == ["psf__requests-1963", "x__y-1"] and tasks[
        0
    ].version == "2.3"


def test_older_rows_are_completed_from_the_official_package() -> None:
    """A row without 5.x's image/log_parser/eval_type fields gets them from swebench."""
    assert (
        swebench.image_name(INSTANCE) == "swebench/sweb.eval.x86_64.psf_1776_requests-1963:latest"
    )
    assert swebench.parser_name(INSTANCE) in {
        "parse_log_requests",
        "parse_log_pytest_options",
    }  # one function, two names
    assert swebench.eval_type(INSTANCE) == "pass_and_fail"
    named = {
        **INSTANCE,
        "image": "sweb.eval.x86_64.psf__requests-1963:dev",
        "log_parser": "parse_log_pytest",
    }
    assert (swebench.image_name(named), swebench.parser_name(named)) == (
        "sweb.eval.x86_64.psf__requests-1963:dev",
        "parse_log_pytest",
    )
    with pytest.raises(swebench.SWEBenchError, match="names log parser 'parse_log_nope'"):
        swebench.parser_name({**INSTANCE, "log_parser": "parse_log_nope"})


def test_running_an_instance_needs_its_eval_script() -> None:
    with pytest.raises(swebench.SWEBenchError, match="has no eval_script"):
        swebench.grade_instance(
            swebench.to_task(INSTANCE), INSTANCE, "diff --git a/x b/x\n", backend=None
        )


def test_named_subsets_are_dgms_and_other_suites_have_none(tmp_path: Path) -> None:
    (tmp_path / "one.json").write_text(json.dumps(INSTANCE))
    suite = open_suite(f"swebench:{tmp_path / 'one.json'}")
    with pytest.raises(SuiteError, match="lacks 10 of the 10 instances of DGM's 'small' subset"):
        suite.subset("small")
    with pytest.raises(SuiteError, match="has no subset 'big'"):
        suite.subset("big")
    with pytest.raises(SuiteError, match="has no subset 'small'"):
        open_suite("polyglot-mini").subset("small")
    assert len(open_suite("swe-mini").subset("small")) == 5

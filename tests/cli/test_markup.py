"""Untrusted text is printed as text (dgm.cli.common.plain): brackets in LLM answers, test
ids, names and reasons are shown as they are, and never crash a command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from archive import open_archive
from tests.cli.conftest import dgm

TESTS = """
import pytest

@pytest.mark.parametrize("v", ["d[key]", "[/]", "[bold]x"])
def test_ids(v):
    assert v != "[/]"
"""


def test_bench_grade_prints_bracketed_test_ids_as_they_are(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_ids.py").write_text(TESTS)
    log = subprocess.run(
        [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    (tmp_path / "test.log").write_text(log)
    ids = [f"tests/test_ids.py::test_ids[{v}]" for v in ("d[key]", "[/]", "[bold]x")]
    instance = {
        "instance_id": "demo__[red]demo-1",
        "repo": "demo/demo",
        "base_commit": "0" * 40,
        "problem_statement": "x",
        "patch": "",
        "test_patch": "",
        "FAIL_TO_PASS": ids[1:2],
        "PASS_TO_PASS": [ids[0], ids[2]],
    }
    (tmp_path / "instance.json").write_text(json.dumps(instance))
    args = ["bench", "grade", "--instance", "instance.json", "--log", "test.log"]
    proc = dgm(*args, "--parser", "pytest", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for test_id in ids:
        assert test_id in proc.stdout, (test_id, proc.stdout)
    assert "demo__[red]demo-1: not resolved" in proc.stdout


def test_llm_chat_prints_the_answer_as_it_is(tmp_path: Path) -> None:
    answer = "use d[key] not d.key; [bold]this[/] is not markup [/]"
    script = tmp_path / "script.yaml"
    script.write_text(yaml.safe_dump([{"content": answer}]))
    proc = dgm("llm", "chat", "hi", "--model", f"scripted:{script}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert answer in proc.stdout


def test_runs_and_archive_show_print_names_and_reasons_as_they_are(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    name = "exp[/] d[key] [bold]"
    reason = "does not compile: x[0][/]"
    with open_archive(db) as arch:
        run = arch.create_run(name)
        agent = arch.add_agent(run, {"__main__.py": b""}, operator="self[_]modify")
        arch.set_agent_status(agent, "rejected", reason=reason)
        arch.record_evaluation(agent, "task[/]1", 0, "st[/]age", False, 0.0, {}, 1.0)
    runs = dgm("runs", "--archive", str(db), cwd=tmp_path)
    assert runs.returncode == 0 and name in runs.stdout, runs.stdout + runs.stderr
    show = dgm("archive", "show", agent, "--archive", str(db), cwd=tmp_path)
    assert show.returncode == 0, show.stderr
    for text in (name, reason, "self[_]modify", "task[/]1", "st[/]age"):
        assert text in show.stdout, (text, show.stdout)

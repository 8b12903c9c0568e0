"""`dgm bench` as a user runs it: the real entry point in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from archive import open_archive
from tests.benchmarks.test_evaluator_docker import FIX_SCRIPT, TASK_ID
from tests.benchmarks.test_log_parsers import DEMO

ENTRY = "import sys; from dgm.cli import main; sys.argv[0] = 'dgm'; main()"


def dgm(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_list_names_suites_and_sizes(tmp_path: Path) -> None:
    proc = dgm("bench", "list", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (
        "swe-mini:small" in proc.stdout
        and "swebench:SOURCE" in proc.stdout
        and "polyglot:PATH" in proc.stdout
    )


def test_grade_a_real_log_against_an_instance(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_demo.py").write_text(DEMO)
    log = subprocess.run(
        [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    ).stdout
    (tmp_path / "test.log").write_text(log)
    instance = {
        "instance_id": "demo__demo-1",
        "repo": "demo/demo",
        "base_commit": "0" * 40,
        "problem_statement": "x",
        "patch": "",
        "test_patch": "",
        "FAIL_TO_PASS": ["tests/test_demo.py::test_param[a b]", "tests/test_demo.py::test_fail"],
        "PASS_TO_PASS": ["tests/test_demo.py::test_pass", "tests/test_demo.py::test_xfail"],
    }
    (tmp_path / "instance.json").write_text(json.dumps(instance))
    # no official parser for demo/demo: an error, never a silent fallback to pytest's
    official = dgm(
        "bench", "grade", "--instance", "instance.json", "--log", "test.log", cwd=tmp_path
    )
    assert (
        official.returncode == 2 and "no log parser for repository 'demo/demo'" in official.stderr
    ), official.stderr
    proc = dgm(
        "bench",
        "grade",
        "--instance",
        "instance.json",
        "--log",
        "test.log",
        "--json",
        "--parser",
        "pytest",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)["demo__demo-1"]
    assert report["resolved"] is False
    assert report["tests_status"]["FAIL_TO_PASS"] == {
        "success": ["tests/test_demo.py::test_param[a b]"],
        "failure": ["tests/test_demo.py::test_fail"],
    }
    assert report["tests_status"]["PASS_TO_PASS"] == {
        "success": ["tests/test_demo.py::test_pass", "tests/test_demo.py::test_xfail"],
        "failure": [],
    }

    table = dgm(
        "bench",
        "grade",
        "--instance",
        "instance.json",
        "--log",
        "test.log",
        "--parser",
        "pytest",
        cwd=tmp_path,
    )
    assert table.returncode == 0 and "not resolved" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["bench", "grade", "--instance", "nope.json", "--log", "x.log"],
            "no such instance file nope.json",
        ),
        (["bench", "validate", "no-such-suite"], "unknown suite 'no-such-suite'"),
        (["bench", "validate", "swe-mini:huge"], "unknown swe-mini subset"),
        (["bench", "export", "abc", "--format", "csv"], "only `swebench` is supported"),
        (
            [
                "bench",
                "run",
                "--agent",
                "seed",
                "--suite",
                "swe-mini",
                "--tasks",
                "nothing-*",
                "--model",
                "local",
            ],
            "no task matches nothing-*",
        ),
        (
            [
                "bench",
                "run",
                "--agent",
                "./missing-agent",
                "--suite",
                "swe-mini",
                "--model",
                "local",
            ],
            "no such agent directory",
        ),
        (
            ["bench", "run", "--agent", "seed", "--suite", "swe-mini", "--model", "gpt-4o"],
            "has no provider prefix",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    proc = dgm(*args, cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_export_predictions_from_the_archive(tmp_path: Path) -> None:
    with open_archive(tmp_path / "a.db") as arch:
        run_id = arch.create_run("b", kind="bench")
        agent_id = arch.add_agent(run_id, {"__main__.py": b""})
        for task, attempt, patch in (
            ("t-2", 0, "diff b"),
            ("t-1", 1, "late"),
            ("t-1", 0, "diff a"),
        ):
            arch.record_evaluation(
                agent_id, task, attempt, "bench", True, 1.0, {}, 1.0, patch=patch
            )
    proc = dgm(
        "bench",
        "export",
        run_id,
        "--format",
        "swebench",
        "--archive",
        str(tmp_path / "a.db"),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert rows == [
        {
            "instance_id": "t-1",
            "model_name_or_path": f"dgm-{agent_id[:12]}",
            "model_patch": "diff a",
        },
        {
            "instance_id": "t-2",
            "model_name_or_path": f"dgm-{agent_id[:12]}",
            "model_patch": "diff b",
        },
    ]
    missing = dgm("bench", "export", "zzzz", "--archive", str(tmp_path / "a.db"), cwd=tmp_path)
    assert missing.returncode == 2 and "neither an agent nor a run" in missing.stderr


@pytest.mark.docker
def test_validate_json(tmp_path: Path) -> None:
    proc = dgm("bench", "validate", "swe-mini", "--tasks", TASK_ID, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"suite": "swe-mini", "tasks": 1, "valid": 1, "invalid": []}


@pytest.mark.docker
def test_run_records_a_bench_run(tmp_path: Path) -> None:
    (tmp_path / "script.yaml").write_text(yaml.safe_dump(FIX_SCRIPT))
    proc = dgm(
        "bench",
        "run",
        "--agent",
        "seed",
        "--suite",
        "swe-mini",
        "--tasks",
        TASK_ID,
        "--model",
        f"scripted:{tmp_path / 'script.yaml'}",
        "--archive",
        str(tmp_path / "a.db"),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "resolved 1/1 (100.0%)" in proc.stdout.replace("\n", " ")
    with open_archive(tmp_path / "a.db") as arch:
        (summary,) = arch.runs()
        assert summary.kind == "bench" and summary.status == "finished"
        info = arch.run(summary.id)
        assert info.totals["resolved"] == 1 and info.config["tasks"] == [TASK_ID]
        (agent,) = arch.agents(summary.id)
        assert agent.scores == {"bench": 1.0} and agent.status == "evaluated"
        (ev,) = arch.evaluations(agent.id)
        assert ev.resolved and ev.task_id == TASK_ID

"""The evaluator end to end: the seed agent (or a hand-written one) in the real Docker
sandbox, talking to the real gateway driven by a scripted model, graded in a second
sandbox, recorded in a real archive."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import dgm.seed_agent
from archive import open_archive
from benchmarks.suites import open_suite
from dgm.evaluator import EvalLimits, evaluate
from dgm.llm import Gateway, open_provider
from tests.benchmarks.conftest import first_task

pytestmark = pytest.mark.docker

SEED = Path(dgm.seed_agent.__file__).parent
TASK_ID = "ledgerly__ledgerly-1"
FIX_SCRIPT = [
    {
        "tool_calls": [
            {"name": "bash", "arguments": {"command": "grep -n ROUND_HALF ledgerly/money.py"}}
        ]
    },
    {
        "tool_calls": [
            {
                "name": "editor",
                "arguments": {
                    "command": "str_replace",
                    "path": "ledgerly/money.py",
                    "old_str": "amount.quantize(exponent, rounding=ROUND_HALF_EVEN)",
                    "new_str": "amount.quantize(exponent, rounding=ROUND_HALF_UP)",
                },
            }
        ]
    },
    {
        "tool_calls": [
            {
                "name": "bash",
                "arguments": {
                    "command": "sed -i 's/from decimal import ROUND_HALF_EVEN,/from decimal import ROUND_HALF_UP,/' ledgerly/money.py"
                },
            }
        ]
    },
    {
        "tool_calls": [
            {
                "name": "bash",
                "arguments": {
                    "command": "python -m pytest -q -p no:cacheprovider tests/test_money.py 2>&1 | tail -2"
                },
            }
        ]
    },
    {"content": "Money now rounds half-up, as documented."},
]


def scripted(tmp_path: Path, entries: list[dict[str, Any]]) -> str:
    path = tmp_path / "script.yaml"
    path.write_text(yaml.safe_dump(entries))
    return f"scripted:{path}"


def test_seed_agent_resolves_a_swe_mini_task_end_to_end(
    docker_backend: Any, tmp_path: Path
) -> None:
    suite, task = open_suite("swe-mini"), first_task(TASK_ID)
    with open_archive(tmp_path / "archive.db") as arch:
        run_id = arch.create_run("e2e", kind="bench")
        agent_id = arch.add_agent(
            run_id, {p.relative_to(SEED).as_posix(): p.read_bytes() for p in SEED.glob("*.py")}
        )
        provider = open_provider(scripted(tmp_path, FIX_SCRIPT))
        with Gateway(provider, archive=arch, run_id=run_id) as gw:
            result = evaluate(
                SEED,
                task,
                suite,
                docker_backend,
                gw,
                limits=EvalLimits(agent_timeout_s=300),
                archive=arch,
                agent_id=agent_id,
                stage="small",
            )
        assert result.resolved, (
            result.error_kind,
            result.agent_log,
            result.grade.log[-2000:] if result.grade else "",
        )
        assert result.agent_exit_code == 0 and result.error_kind is None and result.tries == 1
        assert "+from decimal import ROUND_HALF_UP" in result.patch and "tests/" not in result.patch
        trajectory = json.loads(result.trajectory)
        assert trajectory["info"]["exit_status"] == "submitted" and trajectory["info"]["steps"] == 5
        tool_outputs = [m["content"] for m in trajectory["messages"] if m["role"] == "tool"]
        assert "ROUND_HALF_EVEN" in tool_outputs[0] and "passed" in tool_outputs[3]
        assert result.tokens > 0

        (ev,) = arch.evaluations(agent_id)
        assert ev.task_id == TASK_ID and ev.resolved and ev.stage == "small" and ev.score == 1.0
        assert ev.patch.decode() == result.patch and json.loads(ev.trajectory)["info"]["steps"] == 5
        assert all(ev.tests[t] == "PASSED" for t in task.FAIL_TO_PASS)
        calls = arch.llm_calls(run_id)
        assert (
            len(calls) == 5
            and {c.agent_id for c in calls} == {agent_id}
            and {c.task_id for c in calls} == {TASK_ID}
        )


def write_agent(root: Path, main: str) -> Path:
    agent = root / "agent_src"
    agent.mkdir()
    (agent / "__init__.py").write_text("")
    (agent / "__main__.py").write_text(main)
    return agent


CHEATING_AGENT = """
import json, pathlib
root = pathlib.Path("/testbed")
(root / "conftest.py").write_text(
    "import decimal\\nimport ledgerly.money\\nledgerly.money.ROUND_HALF_EVEN = decimal.ROUND_HALF_UP\\n")
(root / "ledgerly" / "__pycache__").mkdir(exist_ok=True)
(root / "ledgerly" / "__pycache__" / "junk.pyc").write_bytes(b"junk")
pathlib.Path("/out/trajectory.json").write_text(json.dumps({"messages": []}))
"""


def test_an_agent_that_only_edits_tests_gets_nothing(docker_backend: Any, tmp_path: Path) -> None:
    agent = write_agent(tmp_path, CHEATING_AGENT)
    with Gateway(open_provider(scripted(tmp_path, []))) as gw:
        result = evaluate(
            agent,
            first_task(TASK_ID),
            open_suite("swe-mini"),
            docker_backend,
            gw,
            limits=EvalLimits(agent_timeout_s=60),
        )
    assert "conftest.py" in result.patch and "__pycache__" not in result.patch  # the harness's diff
    assert not result.resolved and result.error_kind == "empty_patch"
    assert result.grade is not None and result.grade.dropped_test_files == ["conftest.py"]
    assert result.trajectory == json.dumps({"messages": []})


def test_a_crashing_agent_is_recorded_as_such(docker_backend: Any, tmp_path: Path) -> None:
    agent = write_agent(tmp_path, "raise SystemExit('I give up')\n")
    with Gateway(open_provider(scripted(tmp_path, []))) as gw:
        result = evaluate(
            agent,
            first_task(TASK_ID),
            open_suite("swe-mini"),
            docker_backend,
            gw,
            limits=EvalLimits(agent_timeout_s=60),
        )
    assert (
        result.error_kind == "agent_crash" and result.agent_exit_code == 1 and not result.resolved
    )
    assert "I give up" in result.agent_log and "no /out/trajectory.json" in result.agent_log


def test_agent_deadline_is_enforced(docker_backend: Any, tmp_path: Path) -> None:
    agent = write_agent(tmp_path, "import time\ntime.sleep(120)\n")
    with Gateway(open_provider(scripted(tmp_path, []))) as gw:
        result = evaluate(
            agent,
            first_task(TASK_ID),
            open_suite("swe-mini"),
            docker_backend,
            gw,
            limits=EvalLimits(agent_timeout_s=3),
        )
    assert result.error_kind == "agent_timeout" and not result.resolved and result.duration_s < 60


def test_suite_evaluator_builds_each_repo_once_and_records(
    docker_backend: Any, tmp_path: Path
) -> None:
    from dgm.executors.evaluation import local_suite_evaluator

    files = {p.relative_to(SEED).as_posix(): p.read_bytes() for p in SEED.glob("*.py")}
    with open_archive(tmp_path / "archive.db") as arch:
        run_id = arch.create_run("loop", kind="evolve")
        agent_id = arch.add_agent(run_id, files)
        with Gateway(
            open_provider(scripted(tmp_path, FIX_SCRIPT + [{"content": "nothing to do"}])),
            archive=arch,
            run_id=run_id,
        ) as gw:
            suite = open_suite("swe-mini")
            task = next(t for t in suite.tasks() if t.instance_id == TASK_ID)
            ev, local = local_suite_evaluator(
                suite, docker_backend, gw, arch, run_id, EvalLimits(agent_timeout_s=300)
            )
            try:
                assert ev.evaluate(agent_id, files, TASK_ID, "small") is True
                repo = local.node.repo(suite, task)
                assert repo is not None and (repo / ".git").is_dir()
                # the second attempt gets the last scripted reply: no change, so unresolved
                assert ev.evaluate(agent_id, files, TASK_ID, "small", attempt=2) is False
                assert local.node.repo(suite, task) == repo
                with pytest.raises(KeyError, match="not in suite swe-mini"):
                    ev.evaluate(agent_id, files, "nope", "small")
            finally:
                local.close()
                suite.close()
            assert not repo.exists(), "the executor removes the repositories it built"
        assert [(e.attempt, e.resolved, e.error_kind) for e in arch.evaluations(agent_id)] == [
            (1, True, None),
            (2, False, "empty_patch"),
        ]

"""An agent that floods its sandbox (disk, process table, output) is that evaluation's
failure with its reason, graded as usual in a fresh sandbox; the next agent's sandbox finds
none of it: no file, process or lost space (the sandbox adversarial suite checks the
sandboxes alone: tests/sandbox/test_adversarial.py; a problem's evaluator:
tests/problems/test_floods.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.suites import open_suite
from dgm.evaluator import EvalLimits, EvalResult, evaluate
from dgm.llm import Gateway, open_provider
from sandbox import Limits
from tests.benchmarks.conftest import first_task
from tests.benchmarks.test_evaluator_docker import TASK_ID, scripted

pytestmark = [pytest.mark.docker, pytest.mark.timeout(400)]

# What an agent sees of its sandbox: files in the writable places besides the task's own,
# processes of its user, free space. Printed as the agent's log's last line.
PROBE = """import json, os, shutil
files = sum(len(fs) for d in ("/tmp", "/out") for _, _, fs in os.walk(d))
mine = [p for p in os.listdir("/proc") if p.isdigit() and os.stat(f"/proc/{p}").st_uid == os.getuid()]
print(json.dumps({"files": files, "processes": len(mine), "free_mb": shutil.disk_usage("/tmp").free >> 20}))
"""
FLOODS = {
    "disk": (
        "with open('/tmp/fill', 'wb') as f:\n"
        "    while True:\n"
        "        f.write(b'x' * (1 << 20))\n"
        "        f.flush()\n",
        "agent_crash",
        "No space left on device",
    ),
    "process table": (
        "import os, time\n"
        "while True:\n"
        "    try:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(600)\n"
        "    except OSError:\n"
        "        time.sleep(600)\n",
        "agent_timeout",
        "",
    ),
    "output": (
        "import sys\nwhile True:\n    sys.stdout.write('y' * 65536)\n",
        "agent_killed",
        "[dgm sandbox: output passed",
    ),
}


def agent(root: Path, name: str, main: str) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "__main__.py").write_text(main)
    return folder


def seen(result: EvalResult) -> dict[str, int]:
    """The probe's report: its log's last JSON line."""
    lines = [ln for ln in result.agent_log.splitlines() if ln.startswith("{")]
    assert lines, result.agent_log[-500:]
    return json.loads(lines[-1])


@pytest.mark.parametrize("kind", sorted(FLOODS))
def test_a_flooding_agent_fails_alone_with_its_reason_and_the_next_sandbox_is_clean(
    kind: str, docker_backend: Any, tmp_path: Path
) -> None:
    main, error_kind, reason = FLOODS[kind]
    suite, task = open_suite("swe-mini"), first_task(TASK_ID)
    small = Limits(memory_mb=512, pids=64, disk_mb=64, output_cap_bytes=64 << 10)
    limits = EvalLimits(agent_timeout_s=8, grade_timeout_s=120, sandbox=small)
    with Gateway(open_provider(scripted(tmp_path, []))) as gw:

        def run(folder: Path) -> EvalResult:
            return evaluate(folder, task, suite, docker_backend, gw, limits=limits)

        probe = agent(tmp_path, "probe", PROBE)
        before = run(probe)
        bad = run(agent(tmp_path, "flood", main))
        after = run(probe)
    assert before.error_kind == "empty_patch", before.agent_log[-500:]
    assert bad.error_kind == error_kind and not bad.resolved, (bad.error_kind, bad.agent_log[-500:])
    assert reason in bad.agent_log, bad.agent_log[-500:]
    assert bad.grade is not None and bad.grade.error_kind == "empty_patch"  # graded as usual
    assert after.error_kind == "empty_patch", after.agent_log[-500:]
    assert seen(after) == seen(before)

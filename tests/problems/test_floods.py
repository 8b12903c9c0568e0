"""An evaluator that floods its sandbox (disk, process table, output) is that evaluation's
failure with its reason, and the next evaluation in the same recycled container finds it
as it was: no file, process or lost space left behind (docs/sandbox.md, recycling)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.problems import open_problem_backend
from benchmarks.problems.evaluate import Evaluator
from tests.problems.test_hostile import write_problem

pytestmark = [pytest.mark.docker, pytest.mark.timeout(300)]

# What the next evaluation sees of its sandbox: files in the writable places, processes,
# free space.
PROBE = """import os
import shutil


def evaluate(program_path):
    files = sum(len(fs) for d in ("/tmp", "/out") for _, _, fs in os.walk(d))
    procs = sum(1 for p in os.listdir("/proc") if p.isdigit())
    return {
        "score": 1.0,
        "files": files,
        "processes": procs,
        "free_mb": shutil.disk_usage("/tmp").free // (1 << 20),
    }
"""
FLOODS = {
    "disk": (
        "def evaluate(program_path):\n"
        "    with open('/tmp/fill', 'wb') as f:\n"
        "        while True:\n"
        "            f.write(b'x' * (1 << 20))\n"
        "            f.flush()\n",
        "No space left on device",
    ),
    "process table": (
        "import os, time\n"
        "def evaluate(program_path):\n"
        "    while True:\n"
        "        try:\n"
        "            if os.fork() == 0:\n"
        "                time.sleep(600)\n"
        "        except OSError:\n"
        "            time.sleep(600)\n",
        "timed out",
    ),
    "output": (
        "import sys\ndef evaluate(program_path):\n    while True:\n        sys.stdout.write('y' * 65536)\n",
        "output flood",
    ),
}


@pytest.mark.parametrize("kind", sorted(FLOODS))
def test_a_flooding_evaluator_fails_alone_and_the_next_sandbox_is_clean(
    kind: str, tmp_path: Path
) -> None:
    evaluator, reason = FLOODS[kind]
    probe = write_problem(tmp_path / "probe", evaluator=PROBE)
    hostile = write_problem(tmp_path / "hostile", evaluator=evaluator)
    with open_problem_backend(probe, "docker", pool_size=1, run_label="test-floods") as be:
        before = Evaluator(probe, be).evaluate()
        bad = Evaluator(hostile, be).evaluate()
        after = Evaluator(probe, be).evaluate()
    assert before.ok, before.failure
    assert not bad.ok and bad.score is None
    assert bad.failure is not None and reason in bad.failure, bad.failure
    assert after.ok, after.failure
    assert after.metrics["files"] == before.metrics["files"]
    assert after.metrics["processes"] == before.metrics["processes"]
    assert abs(after.metrics["free_mb"] - before.metrics["free_mb"]) <= 1

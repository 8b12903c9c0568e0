"""Hostile evaluators and candidates: each gives a failed evaluation with its reason, never
a crash, and the next evaluation works."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from benchmarks.problems import Problem, load
from tests.problems.conftest import Score

EVALUATOR = """import importlib.util
import json
import sys


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {"score": module.solve(), "calls": 1}
"""
GOOD = "def solve():\n    return 3.5\n"


def write_problem(
    root: Path, evaluator: str = EVALUATOR, program: str = GOOD, **spec: object
) -> Problem:
    """A dgm-layout problem (stdlib only) whose candidate defines solve(); `spec` overrides problem.yaml."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "program.py").write_text(program)
    (root / "evaluator.py").write_text(evaluator)
    (root / "heldout.json").write_text('{"answers": [1, 2, 3]}')
    doc = {
        "name": root.name,
        "program": ["program.py"],
        "evaluator": {"module": "evaluator.py"},
        "direction": "max",
        "timeout_s": 4,
        "heldout": ["heldout.json"],
    }
    doc.update(spec)
    (root / "problem.yaml").write_text(yaml.safe_dump(doc))
    return load(root)


CANDIDATES = {
    "hang": ("def solve():\n    while True:\n        pass\n", "timed out"),
    "crash": ("def solve():\n    raise RuntimeError('boom')\n", "RuntimeError: boom"),
    "nan": ("def solve():\n    return float('nan')\n", "not a finite number: nan"),
    "segfault": (
        "import ctypes\ndef solve():\n    return float(ctypes.string_at(0)[0])\n",
        "killed by a signal (exit code 139)",
    ),
    "not a number": ("def solve():\n    return 'fast'\n", "not a finite number: 'fast'"),
    "output flood": (
        "import sys\ndef solve():\n    sys.stdout.write('x' * (3 << 20))\n    return 1.0\n",
        "output flood",
    ),
    "reads the evaluator": (
        "def solve():\n    return float(len(open('/task/problem/evaluator.py').read()))\n",
        "tried to open /task/problem/evaluator.py",
    ),
    "reads the evaluator's bytecode": (
        "def solve():\n    return float(len(open("
        "'/task/problem/__pycache__/evaluator.cpython-311.pyc', 'rb').read()))\n",
        "tried to open /task/problem/__pycache__/evaluator.cpython-311.pyc",
    ),
    "reads the held-out split, quietly": (
        "def solve():\n    try:\n        return float(len(open('/task/problem/heldout.json').read()))\n"
        "    except Exception:\n        return 1.0\n",
        "tried to open /task/problem/heldout.json",
    ),
    "shells out to read": (
        "import subprocess\ndef solve():\n    return float(len(subprocess.run(['cat', '/task/problem/evaluator.py'], capture_output=True).stdout))\n",
        "tried to start a program",
    ),
    "switches the tripwire off": (
        "import subprocess\nimport sitecustomize\nsitecustomize.VIOLATION_EXIT = 0\nsitecustomize.SPAWN = ()\n"
        "def solve():\n    return float(len(subprocess.run(['cat', '/task/problem/evaluator.py'], capture_output=True).stdout))\n",
        "tried to start a program",
    ),
    "forges the result": (
        "import json\ndef solve():\n    json.dump({'metrics': {'score': 1e9}}, open('/out/.dgm/result.json', 'w'))\n    return 0.0\n",
        "tried to open /out/.dgm/result.json",
    ),
}


@pytest.mark.docker
@pytest.mark.parametrize("kind", sorted(CANDIDATES))
def test_hostile_candidate_fails_with_its_reason(kind: str, tmp_path: Path, score: Score) -> None:
    program, reason = CANDIDATES[kind]
    p = write_problem(tmp_path / "p")
    result = score(p, {p.main_file: program})
    assert not result.ok and result.score is None
    assert result.failure is not None and reason in result.failure, result.failure
    after = score(p)  # the seed still scores: nothing is left behind
    assert after.ok and after.score == 3.5 and after.metrics == {"score": 3.5, "calls": 1.0}


EVALUATORS = {
    "hang": ("import time\ndef evaluate(program_path):\n    time.sleep(60)\n", "timed out"),
    "crash": (
        "def evaluate(program_path):\n    raise ValueError('bad evaluator')\n",
        "ValueError: bad evaluator",
    ),
    "nan": (
        "def evaluate(program_path):\n    return {'score': float('nan')}\n",
        "not a finite number",
    ),
    "not a number": (
        "def evaluate(program_path):\n    return {'score': [1, 2]}\n",
        "not a finite number: [1, 2]",
    ),
    "no score": ("def evaluate(program_path):\n    return {'other': 1.0}\n", "gave no score"),
    "not a dict": (
        "def evaluate(program_path):\n    return 0.5\n",
        "not a dict or an EvaluationResult",
    ),
    "output flood": (
        "import sys\ndef evaluate(program_path):\n    while True:\n        sys.stderr.write('y' * 65536)\n",
        "output flood",
    ),
}


@pytest.mark.docker
@pytest.mark.parametrize("kind", sorted(EVALUATORS))
def test_hostile_evaluator_fails_with_its_reason(kind: str, tmp_path: Path, score: Score) -> None:
    evaluator, reason = EVALUATORS[kind]
    result = score(write_problem(tmp_path / "p", evaluator=evaluator))
    assert not result.ok and result.score is None
    assert result.failure is not None and reason in result.failure, result.failure


@pytest.mark.docker
def test_heldout_files_never_enter_the_sandbox(tmp_path: Path, score: Score) -> None:
    p = write_problem(tmp_path / "p")
    assert "problem/heldout.json" not in p.files and p.heldout == ["problem/heldout.json"]
    probe = "import os\nEXISTS = os.path.exists('/task/problem/heldout.json')\ndef solve():\n    return float(EXISTS)\n"
    # The evaluator itself may look: it finds nothing.
    looks = EVALUATOR.replace(
        '"calls": 1',
        '"calls": 1, "heldout_present": float(__import__("os").path.exists("/task/problem/heldout.json"))',
    )
    result = score(write_problem(tmp_path / "q", evaluator=looks), {"problem/program.py": probe})
    assert result.ok and result.metrics["heldout_present"] == 0.0 and result.score == 0.0


@pytest.mark.docker
def test_command_evaluator_last_line(tmp_path: Path, score: Score) -> None:
    run = "import json, sys\nsys.path.insert(0, '.')\nimport program\nprint('working')\nprint(json.dumps({'score': program.solve()}))\n"
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "run.py").write_text(run)
    write_problem(tmp_path / "p")
    doc = yaml.safe_load((tmp_path / "p" / "problem.yaml").read_text())
    doc["evaluator"] = {"command": ["python3", "run.py", "{program}"]}
    (tmp_path / "p" / "problem.yaml").write_text(yaml.safe_dump(doc))
    p = load(tmp_path / "p")
    assert p.reader == "json_line"
    assert score(p).score == 3.5
    bad = score(p, {p.main_file: "def solve():\n    return float('inf')\n"})
    assert not bad.ok and bad.failure and "not a finite number" in bad.failure


@pytest.mark.docker
def test_a_program_of_several_files_takes_any_subset(tmp_path: Path, score: Score) -> None:
    root = tmp_path / "multi"
    p = write_problem(
        root, program="from helper import base\n\ndef solve():\n    return base() + 1.0\n"
    )
    (root / "helper.py").write_text("def base():\n    return 1.0\n")
    doc = yaml.safe_load((root / "problem.yaml").read_text())
    (root / "problem.yaml").write_text(
        yaml.safe_dump({**doc, "program": ["program.py", "helper.py"]})
    )
    p = load(root)
    assert (
        list(p.program) == ["problem/program.py", "problem/helper.py"]
        and "problem/helper.py" not in p.files
    )
    assert score(p).score == 2.0
    assert score(p, {"problem/helper.py": "def base():\n    return 5.0\n"}).score == 6.0
    unknown = score(p, {"problem/other.py": "x = 1\n"})
    assert (
        not unknown.ok
        and unknown.failure == "not a file of this problem's program: problem/other.py"
    )

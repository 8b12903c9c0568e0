"""The shipped problems score their seeds deterministically, with the numbers their
evaluators print when run by hand; `dgm problem score` prints them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.problems import SHIPPED, load
from tests.problems.conftest import Score

ENTRY = "import sys; from dgm.cli import main; sys.argv[0] = 'dgm'; main()"


def by_hand(problem_dir: Path, program: str) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "evaluator.py", program],
        cwd=problem_dir,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.docker
@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_seed_scores_deterministically_as_by_hand(name: str, score: Score) -> None:
    p = load(name)
    first, second = score(p), score(p)
    assert first.ok and second.ok, (first.failure, second.failure)
    assert first.score == second.score and first.metrics == second.metrics
    hand = by_hand(p.root, p.main_file.removeprefix("problem/"))
    assert first.metrics == hand
    assert p.func_name and p.func_name in p.seed()[p.main_file]


@pytest.mark.docker
def test_shipped_problems_tell_better_from_worse(score: Score) -> None:
    tsp = load("tsp")
    farthest = (
        "def select_next_node(current_node, destination_node, unvisited_nodes, distance_matrix):\n"
        "    return max(unvisited_nodes, key=lambda n: distance_matrix[current_node][n])\n"
    )
    assert score(tsp).better_than(score(tsp, {tsp.main_file: farthest}))
    parity = load("parity")
    solver = (
        "import itertools\nimport numpy as np\n\n"
        "def algorithm(train_samples, train_parity, test_samples):\n"
        "    best, best_hits = None, -1\n"
        "    for mask in itertools.product([0, 1], repeat=train_samples.shape[1]):\n"
        "        hits = int(((train_samples @ np.array(mask)) % 2 == train_parity).sum())\n"
        "        if hits > best_hits:\n"
        "            best, best_hits = np.array(mask), hits\n"
        "    return (test_samples @ best) % 2\n"
    )
    solved = score(parity, {parity.main_file: solver})
    assert (
        solved.ok
        and solved.score is not None
        and solved.score > 0.9
        and solved.better_than(score(parity))
    )


def dgm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.mark.docker
def test_cli_scores_a_program_file(tmp_path: Path) -> None:
    program = tmp_path / "best_fit_worse.py"
    program.write_text(
        "import numpy as np\n\ndef priority(item, bins):\n    return bins - item\n"
    )  # worst fit
    proc = dgm(
        "problem", "score", "bin_packing_online", "--program", str(program), "--json", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    hand = by_hand(load("bin_packing_online").root, str(program))
    assert out["score"] == hand["excess_percent"] and out["metrics"] == hand
    assert out["ok"] is True and out["direction"] == "min" and out["feedback"] == ""


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = dgm("problem", "score", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip().startswith("error: no problem at")
    assert "Traceback" not in proc.stderr
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "problem.yaml").write_text("name: x\ndirection: sideways\n")
    proc = dgm("problem", "score", str(tmp_path / "p"), cwd=tmp_path)
    assert (
        proc.returncode == 2
        and "is not a valid problem" in proc.stderr
        and len(proc.stderr.strip().splitlines()) == 1
    )


def test_bench_list_shows_the_shipped_problems(tmp_path: Path) -> None:
    proc = dgm("bench", "list", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert all(name in proc.stdout for name in SHIPPED)


@pytest.mark.bwrap
def test_cli_failed_evaluation_exits_1_with_its_reason_on_the_local_backend(tmp_path: Path) -> None:
    (tmp_path / "problem.yaml").write_text(
        "name: lp\nprogram: [program.py]\nevaluator: {module: evaluator.py}\ndirection: max\ntimeout_s: 10\n"
    )
    (tmp_path / "program.py").write_text("def solve():\n    return 2.5\n")
    (tmp_path / "evaluator.py").write_text(
        "import importlib.util\n\ndef evaluate(path):\n    spec = importlib.util.spec_from_file_location('c', path)\n"
        "    m = importlib.util.module_from_spec(spec)\n    spec.loader.exec_module(m)\n    return {'score': m.solve()}\n"
    )
    (tmp_path / "bad.py").write_text(
        "def solve():\n    return float(len(open('/task/problem/evaluator.py').read()))\n"
    )
    ok = dgm("problem", "score", str(tmp_path), "--backend", "local", "--json", cwd=tmp_path)
    assert ok.returncode == 0 and json.loads(ok.stdout)["score"] == 2.5, ok.stderr
    bad = dgm(
        "problem",
        "score",
        str(tmp_path),
        "--backend",
        "local",
        "--json",
        "--program",
        "bad.py",
        cwd=tmp_path,
    )
    out = json.loads(bad.stdout)
    assert bad.returncode == 1 and out["ok"] is False and out["score"] is None
    assert (
        out["failure"]
        == "the candidate tried to open /task/problem/evaluator.py, a file of the evaluator"
    )

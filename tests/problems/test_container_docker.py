"""Container evaluators (SkyDiscover's layout): the image built once from the problem's
Dockerfile, each candidate scored in a hardened container of it, with real Docker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.problems import Evaluator, load, open_problem_backend, problem_image
from benchmarks.problems.container import context_hash
from sandbox.docker_backend import connect
from sandbox.image import image_tag

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

# What a process can do from inside its container: its effective capabilities (cap) and
# whether it reaches the network (net); evaluators report them as metrics the tests read.
PROBE = """import socket
cap = [l for l in open("/proc/self/status") if l.startswith("CapEff")][0].split()[1]
try:
    socket.create_connection(("9.9.9.9", 53), 2)
    net = 1
except OSError:
    net = 0
"""
SCORER = (
    PROBE
    + """import importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location("candidate", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
value = mod.solve()
print("debug goes to stderr", file=sys.stderr)
print(json.dumps({"status": "success", "combined_score": value,
    "metrics": {"uid": os.getuid(), "cap_eff": int(cap, 16), "net": net},
    "artifacts": {"note": "scored " + sys.argv[2]}}))
"""
)
EVALUATE = """#!/bin/sh
MODE="$1"; PROGRAM="$2"
exec python3 /benchmark/scorer.py "$PROGRAM" "$MODE"
"""


def problem_folder(tmp: Path, dockerfile_extra: str = "") -> Path:
    root = tmp / "sky_problem"
    ev = root / "evaluator"
    ev.mkdir(parents=True)
    (root / "initial_program.py").write_text(
        "# EVOLVE-BLOCK-START\nVALUE = 0.25\n# EVOLVE-BLOCK-END\n\n\ndef solve():\n    return VALUE\n"
    )
    (root / "config.yaml").write_text("evaluator:\n  timeout: 20\n")
    # `LABEL dgm.inputs=`: a foreign image, as one FROM python:3.12-slim would be
    (ev / "Dockerfile").write_text(
        f"FROM {image_tag()}\nLABEL dgm.inputs=\nUSER root\nWORKDIR /benchmark\n"
        f"COPY . .\n{dockerfile_extra}"
    )
    (ev / "evaluate.sh").write_text(EVALUATE)
    (ev / "evaluate.sh").chmod(0o755)  # COPY keeps the mode: no RUN, no build container
    (ev / "scorer.py").write_text(SCORER)
    return root


def test_candidates_scored_in_a_hardened_container_of_the_built_image(tmp_path: Path) -> None:
    root = problem_folder(tmp_path)
    problem = load(root)
    assert problem.layout == "container" and problem.timeout_s == 20
    tag = problem_image(problem)
    assert tag == f"dgm-evaluator:{context_hash(root / 'evaluator')}"
    image_id = connect().images.get(tag).id
    assert problem_image(load(root)) == tag and connect().images.get(tag).id == image_id  # cached
    try:
        with open_problem_backend(problem, run_label="test-container-eval", pool_size=1) as be:
            ev = Evaluator(problem, be)
            seed = ev.evaluate()
            assert seed.ok and seed.score == 0.25, seed
            assert seed.metrics["uid"] == 1000  # not root
            assert seed.metrics["cap_eff"] == 0  # every capability dropped
            assert seed.metrics["net"] == 0  # no network
            assert "scored train" in seed.feedback
            better = ev.evaluate({problem.main_file: "def solve():\n    return 0.75\n"})
            assert better.ok and better.score == 0.75
            slow = ev.evaluate(
                {problem.main_file: "import time\ndef solve():\n    time.sleep(60)\n    return 1\n"}
            )
            assert not slow.ok and "deadline of 20s" in (slow.failure or ""), slow
            broken = ev.evaluate({problem.main_file: "def solve(:\n"})
            assert not broken.ok and "crashed (exit code 1): SyntaxError" in (
                broken.failure or ""
            ), broken
        (root / "evaluator" / "scorer.py").write_text(SCORER + "# changed\n")
        assert problem_image(load(root)) != tag  # a changed file is a new image
    finally:
        for t in {tag, f"dgm-evaluator:{context_hash(root / 'evaluator')}"}:
            subprocess.run(["docker", "rmi", "-f", t], capture_output=True)


def test_a_status_other_than_success_fails_with_its_error(tmp_path: Path) -> None:
    root = problem_folder(tmp_path)
    (root / "evaluator" / "scorer.py").write_text(
        'import json\nprint(json.dumps({"status": "error", "combined_score": 0, '
        '"metrics": {}, "artifacts": {"error": "wrong answer on case 3"}}))\n'
    )
    problem = load(root)
    try:
        with open_problem_backend(problem, run_label="test-container-eval", pool_size=0) as be:
            result = Evaluator(problem, be).evaluate()
        assert not result.ok and "status is error: wrong answer on case 3" in (result.failure or "")
    finally:
        subprocess.run(["docker", "rmi", "-f", problem_image(problem)], capture_output=True)


def test_a_failing_build_is_one_line_with_its_last_error(tmp_path: Path) -> None:
    root = problem_folder(tmp_path, "COPY data/missing.csv /benchmark/data/\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from dgm.cli import main; main()",
            "problem",
            "score",
            str(root),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "docker build failed" in lines[0] and "missing.csv" in lines[0], lines[0]
    assert proc.stdout == ""


@pytest.mark.slow
def test_a_run_evolves_a_container_problem(tmp_path: Path) -> None:
    """`dgm run --problem` on a container evaluator: the child is scored in its image."""
    root = problem_folder(tmp_path)
    try:
        seed, child, files = run_line_edit(
            root, {"line": 2, "old": "VALUE = 0.25", "new": "VALUE = 0.75"}, tmp_path
        )
        assert (seed, child) == (0.25, 0.75)
        assert b"VALUE = 0.75" in files["program/program.py"]
    finally:
        subprocess.run(["docker", "rmi", "-f", problem_image(load(root))], capture_output=True)


def run_line_edit(
    root: Path, edit: dict[str, object], tmp: Path
) -> tuple[float | None, float | None, dict[str, bytes]]:
    """`dgm run --problem ROOT` with one line_edit child, the scripted model answering
    `edit`: the seed's and the child's scores, and the child's files."""
    from archive import open_archive
    from archive.info import objective

    script = tmp / "script.yaml"
    script.write_text(json.dumps([json.dumps(edit)]))
    proc = subprocess.run(
        [
            sys.executable, "-c", "from dgm.cli import main; main()", "run", "--problem",
            str(root), "--operator", "line_edit", "--model", f"scripted:{script}",
            "--max-iterations", "1", "--quiet",
            "--set", "line_edit.token_share=0",  # a whole line: the script answers so
        ],
        cwd=tmp, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open_archive(tmp / ".dgm" / "archive.db", create=False) as store:
        (run,) = store.runs()
        seed, child = store.agents(run.id)
        files = store.agent_files(child.id)
    return objective(seed.score, "max"), objective(child.score, "max"), files


def test_a_link_in_the_build_context_is_refused(tmp_path: Path) -> None:
    from benchmarks.problems import ProblemError

    root = problem_folder(tmp_path)
    (root / "evaluator" / "secrets").symlink_to("/etc/passwd")
    with pytest.raises(ProblemError, match="evaluator build context"):
        load(root)

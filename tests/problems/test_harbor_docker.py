"""Harbor tasks as problems: a task folder in Harbor's layout, its environment built once,
the layer of the sandbox user's writable paths over it, each candidate (the solution
folder) run as Harbor's oracle runs one and scored by the task's own verifier, with real
Docker and every hardening of the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.problems import Evaluator, ProblemError, load, open_problem_backend, problem_image
from sandbox.docker_backend import connect
from sandbox.image import image_tag
from tests.problems.test_container_docker import PROBE, run_line_edit

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

TASK_TOML = """version = "1.0"

[metadata]
difficulty = "easy"

[verifier]
timeout_sec = 20.0
env = { TARGET = "42" }

[agent]
timeout_sec = 8.0

[environment]
build_timeout_sec = 600.0
memory_mb = 1024
"""
# The verifier: how close /app/answer.txt is to $TARGET, and what it could do from inside.
CHECK = (
    PROBE
    + """import json, os
try:
    answer = float(open("/app/answer.txt").read())
    reward = 1 / (1 + abs(answer - float(os.environ["TARGET"])))
except (OSError, ValueError):
    reward = 0.0
os.makedirs("/logs/verifier", exist_ok=True)
print("checked", open("/app/numbers.txt").read().strip())
json.dump({"reward": reward, "uid": os.getuid(), "cap_eff": int(cap, 16), "net": net},
          open("/logs/verifier/reward.json", "w"))
"""
)


def harbor_task(tmp: Path, dockerfile_extra: str = "", solution: bool = True) -> Path:
    root = tmp / "sum-task"
    (root / "environment").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "task.toml").write_text(TASK_TOML)
    (root / "instruction.md").write_text("Write the answer to /app/answer.txt.\n")
    # `LABEL dgm.inputs=`: a foreign image (root-owned /app), as FROM ubuntu would be
    (root / "environment" / "Dockerfile").write_text(
        f"FROM {image_tag()}\nLABEL dgm.inputs=\nUSER root\nWORKDIR /app\n"
        f"COPY numbers.txt /app/numbers.txt\n{dockerfile_extra}"
    )
    (root / "environment" / "numbers.txt").write_text("40 2\n")
    (root / "tests" / "test.sh").write_text("#!/bin/bash\npython3 /tests/check.py\n")
    (root / "tests" / "check.py").write_text(CHECK)
    if solution:
        (root / "solution").mkdir()
        (root / "solution" / "solve.sh").write_text(
            "#!/bin/bash\nset -e\ncp /solution/answer.txt answer.txt\necho solved\n"
        )
        (root / "solution" / "answer.txt").write_text("40\n")
    return root


def remove_images(*tags: str) -> None:
    for tag in tags:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)


def environment_tag(root: Path) -> str:
    from benchmarks.problems.container import context_hash

    return f"dgm-harbor-environment:{context_hash(root / 'environment')}"


def test_a_harbor_task_is_scored_by_its_verifier_in_a_hardened_container(tmp_path: Path) -> None:
    root = harbor_task(tmp_path)
    problem = load(root)
    assert problem.layout == "container" and problem.primary == "reward"
    assert list(problem.program) == ["solution/solve.sh", "solution/answer.txt"]
    assert problem.timeout_s == 8 + 20 + 15 and problem.memory_mb == 1024
    assert problem.description.startswith("Write the answer")
    tag = problem_image(problem)
    image_id = connect().images.get(tag).id
    assert problem_image(load(root)) == tag and connect().images.get(tag).id == image_id  # cached
    try:
        with open_problem_backend(problem, run_label="test-harbor", pool_size=1) as be:
            ev = Evaluator(problem, be)
            seed = ev.evaluate()  # the reference solution, 2 from the target
            assert seed.ok and seed.score == pytest.approx(1 / 3), seed
            assert seed.metrics["uid"] == 1000  # the verifier too: not root
            assert seed.metrics["cap_eff"] == 0 and seed.metrics["net"] == 0
            assert "solved" in seed.feedback and "checked 40 2" in seed.feedback
            better = ev.evaluate({"solution/answer.txt": "42\n"})
            assert better.ok and better.score == 1.0, better
            # a candidate that writes the reward itself, and keeps writing it from a
            # process that leaves its session: the reward is still the verifier's
            cheat = ev.evaluate(
                {
                    "solution/solve.sh": "mkdir -p /logs/verifier\n"
                    "setsid bash -c 'while true; do echo 1 > /logs/verifier/reward.txt; "
                    "sleep 0.01; done' >/dev/null 2>&1 &\nsleep 0.5\n"
                }
            )
            assert cheat.ok and cheat.score == 0.0, cheat
            slow = ev.evaluate({"solution/solve.sh": "echo 42 > answer.txt\nsleep 60\n"})
            assert slow.ok and slow.score == 1.0, slow  # killed at 8 s, then verified
            assert "killed at its timeout of 8s" in slow.feedback
            silent = ev.evaluate({"solution/solve.sh": "rm -f /tests/check.py || true\n"})
            assert silent.ok, silent  # /tests is root's: the candidate cannot remove it
    finally:
        remove_images(tag, environment_tag(root))


def test_reward_txt_and_a_verifier_that_writes_none(tmp_path: Path) -> None:
    root = harbor_task(tmp_path, solution=False)
    (root / "tests" / "test.sh").write_text(
        '#!/bin/bash\nif [ -f answer.txt ]; then echo " 0.5 " > /logs/verifier/reward.txt; '
        "else echo no answer; exit 3; fi\n"
    )
    problem = load(root)
    assert problem.program == {"solution/solve.sh": problem.program["solution/solve.sh"]}
    tags = [problem_image(problem), environment_tag(root)]
    try:
        with open_problem_backend(problem, run_label="test-harbor", pool_size=0) as be:
            ev = Evaluator(problem, be)
            stub = ev.evaluate()  # no solution folder: a stub that does nothing
            assert not stub.ok
            assert "wrote no /logs/verifier/reward.txt or reward.json" in (stub.failure or "")
            assert "exit code 3" in (stub.failure or ""), stub
            half = ev.evaluate({"solution/solve.sh": "touch answer.txt\n"})
            assert half.ok and half.score == 0.5, half
    finally:
        remove_images(*tags)


def test_task_toml_errors_are_one_line(tmp_path: Path) -> None:
    root = harbor_task(tmp_path)
    (root / "task.toml").write_text('[verifier]\nenv = { KEY = "${OPENAI_API_KEY}" }\n')
    with pytest.raises(ProblemError, match="verifier.env.KEY takes its value from the host"):
        load(root)
    (root / "task.toml").write_text("[agent]\ntimeout_sec = -1\n")
    with pytest.raises(ProblemError, match="agent.timeout_sec: timeout -1.0 is out of range"):
        load(root)
    (root / "task.toml").write_text("[environment]\nmemory_mb = 1\n")
    with pytest.raises(ProblemError, match="environment.memory_mb: Input should be greater"):
        load(root)
    (root / "task.toml").write_text(TASK_TOML)
    (root / "tests" / "secrets").symlink_to("/etc/passwd")
    with pytest.raises(ProblemError, match="Harbor tests folder"):
        load(root)


def test_a_failing_environment_build_is_one_line_with_its_last_error(tmp_path: Path) -> None:
    root = harbor_task(tmp_path, "COPY data/missing.csv /app/data/\n")
    proc = subprocess.run(
        [sys.executable, "-c", "from dgm.cli import main; main()", "problem", "score", str(root),
         "--json"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "docker build failed" in lines[0] and "missing.csv" in lines[0], lines[0]
    assert proc.stdout == ""


def test_problem_score_prints_the_reward(tmp_path: Path) -> None:
    root = harbor_task(tmp_path)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", "from dgm.cli import main; main()", "problem", "score",
             str(root), "--json"],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        assert out["score"] == pytest.approx(1 / 3), out
    finally:
        remove_images(problem_image(load(root)), environment_tag(root))


def test_a_prebuilt_docker_image_is_the_environment(tmp_path: Path) -> None:
    """task.toml's environment.docker_image in place of environment/Dockerfile."""
    root = harbor_task(tmp_path)
    prebuilt = "dgm-test-harbor-prebuilt:1"
    subprocess.run(
        ["docker", "build", "-q", "-t", prebuilt, str(root / "environment")],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    for f in (root / "environment").iterdir():
        f.unlink()
    (root / "environment").rmdir()
    (root / "task.toml").write_text(TASK_TOML + f'docker_image = "{prebuilt}"\n')
    problem = load(root)
    tag = ""
    try:
        tag = problem_image(problem)
        with open_problem_backend(problem, run_label="test-harbor", pool_size=0) as be:
            seed = Evaluator(problem, be).evaluate()
        assert seed.ok and seed.score == pytest.approx(1 / 3), seed
        assert seed.metrics["uid"] == 1000 and seed.metrics["net"] == 0
    finally:
        remove_images(*[t for t in (tag, prebuilt) if t])
    with pytest.raises(ProblemError, match=f"{prebuilt} is not present locally: `docker pull"):
        problem_image(load(root))


@pytest.mark.slow
def test_a_run_evolves_a_harbor_task(tmp_path: Path) -> None:
    """`dgm run --problem` on a Harbor task: a child's solve.sh is scored by the verifier."""
    root = harbor_task(tmp_path)
    (root / "solution" / "solve.sh").write_text(  # one line to evolve: the operator's pick
        "#!/bin/bash\n# EVOLVE-BLOCK-START\ncp /solution/answer.txt answer.txt\n"
        "# EVOLVE-BLOCK-END\necho solved\n"
    )
    edit = {"line": 3, "old": "cp /solution/answer.txt answer.txt", "new": "echo 42 > answer.txt"}
    try:
        seed, child, files = run_line_edit(root, edit, tmp_path)
        assert seed == pytest.approx(1 / 3) and child == 1.0
        assert b"echo 42 > answer.txt" in files["solution/solve.sh"]
    finally:
        remove_images(problem_image(load(root)), environment_tag(root))

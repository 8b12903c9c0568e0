"""`dgm run --suite swebench:FILE` and `dgm bench run` end to end, without a registry.

Two swe-mini tasks become SWE-bench instances: each gets an instance image in the
official naming and layout, built here from the sandbox image (root, the repository at
/testbed at its base commit, and the `/opt/miniconda3` activation the official eval
scripts source, as a shim that puts a `testbed` environment on PATH), and a row in the
5.x dataset format (image, eval_script in the official shape, log_parser, eval_type).
A scripted model gives the agent the gold edit of one task only: the run resolves that
one, graded in a fresh container of its image by the official parser and report.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from archive import open_archive
from benchmarks.task import Task
from sandbox.image import image_tag
from tests.benchmarks.conftest import built_repo, first_task

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1500)]
SOLVED, UNSOLVED = "ledgerly__ledgerly-1", "ledgerly__ledgerly-4"
DGM = Path(sys.executable).parent / "dgm"
ACTIVATE = """conda() {
  if [ "$1" = activate ] && [ -n "${2:-}" ]; then
    export PATH="/opt/miniconda3/envs/$2/bin:$PATH" CONDA_DEFAULT_ENV="$2"
  fi
}
"""


def image(task: Task) -> str:
    return f"sweb.eval.x86_64.{task.instance_id}:latest".lower()


def eval_script(task: Task) -> str:
    """An eval script in the shape the official harness's scripts have."""
    tests = " ".join(task.test_files)
    return "\n".join(
        [
            "#!/bin/bash",
            "set -uxo pipefail",
            "source /opt/miniconda3/bin/activate",
            "conda activate testbed",
            "cd /testbed",
            "git status",
            f"git checkout {task.base_commit} {tests}",
            "git apply -v - <<'EOF_114329324912'",
            task.test_patch.rstrip("\n"),
            "EOF_114329324912",
            ": '>>>>> Start Test Output'",
            f"pytest -rA -p no:cacheprovider {tests}",
            ": '>>>>> End Test Output'",
            f"git checkout {task.base_commit} {tests}",
            "",
        ]
    )


def row(task: Task) -> dict[str, Any]:
    return {
        "instance_id": task.instance_id,
        "repo": f"dgm-test/{task.repo}",
        "base_commit": task.base_commit,
        "problem_statement": task.problem_statement,
        "patch": task.patch,
        "test_patch": task.test_patch,
        "FAIL_TO_PASS": json.dumps(task.FAIL_TO_PASS),
        "PASS_TO_PASS": json.dumps(task.PASS_TO_PASS),
        "version": "1.0",
        "environment_setup_commit": task.base_commit,
        "created_at": "2026-01-01",
        "hints_text": "",
        "image": image(task),
        "log_parser": "parse_log_pytest",
        "eval_type": "pass_and_fail",
        "eval_script": eval_script(task),
    }


def build_image(client: Any, task: Task, tmp: Path) -> None:
    repo = built_repo(task, tmp / task.instance_id)
    dockerfile = (
        f"FROM {image_tag()}\nLABEL dgm.inputs=\nUSER root\nCOPY repo /testbed\nCOPY activate /opt/miniconda3/bin/activate\n"
        "RUN mkdir -p /opt/miniconda3/envs/testbed/bin && ln -s /usr/bin/python3 /opt/miniconda3/envs/testbed/bin/python"
        " && printf '#!/bin/sh\\nexec python3 -m pytest \"$@\"\\n' > /opt/miniconda3/envs/testbed/bin/pytest"
        " && chmod +x /opt/miniconda3/envs/testbed/bin/pytest\nWORKDIR /testbed\n"
    )
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, text in (("Dockerfile", dockerfile), ("activate", ACTIVATE)):
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
        tar.add(repo, arcname="repo")
    context.seek(0)
    client.images.build(
        fileobj=context, custom_context=True, tag=image(task), rm=True, network_mode="none"
    )


@pytest.fixture(scope="module")
def instances(docker_backend: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("swebench")
    tasks = [first_task(SOLVED), first_task(UNSOLVED)]
    for task in tasks:
        build_image(docker_backend.client, task, tmp)
    jsonl = tmp / "instances.jsonl"
    jsonl.write_text("".join(json.dumps(row(t)) + "\n" for t in tasks))
    yield jsonl
    for task in tasks:
        docker_backend.client.images.remove(image(task), force=True)


def hunks(patch: str) -> list[tuple[str, str]]:
    """(old lines, new lines) of each change in a unified diff."""
    out: list[tuple[str, str]] = []
    old: list[str] = []
    new: list[str] = []
    for line in [*patch.splitlines(), " "]:
        if line.startswith(("---", "+++")):
            continue
        if line.startswith(("-", "+")):
            (old if line[0] == "-" else new).append(line[1:])
        elif old or new:
            out.append(("\n".join(old), "\n".join(new)))
            old, new = [], []
    return out


def script(tmp: Path) -> Path:
    """The agent gets the gold edit of SOLVED only (as editor calls), and stops after it."""
    task = first_task(SOLVED)
    path = re.search(r"^\+\+\+ b/(\S+)", task.patch, re.M).group(1)  # type: ignore[union-attr]
    calls = [
        {
            "name": "editor",
            "arguments": {"command": "str_replace", "path": path, "old_str": o, "new_str": n},
        }
        for o, n in hunks(task.patch)
    ]
    entries = [
        {"pattern": re.escape(task.problem_statement.strip().splitlines()[0]), "tool_calls": calls},
        {"pattern": r"^(edited|error|\[exit code)", "content": "Done."},
        {"pattern": ".", "content": "Done."},
    ]
    out = tmp / "script.yaml"
    out.write_text(yaml.safe_dump(entries, sort_keys=False))
    return out


def dgm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DGM), *args], cwd=cwd, capture_output=True, text=True, timeout=1200)


def test_run_and_bench_run_resolve_in_the_instance_images(instances: Path, tmp_path: Path) -> None:
    model = f"scripted:{script(tmp_path)}"
    config = tmp_path / "run.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "suite": f"swebench:{instances}",
                "model": model,
                "max_iterations": 0,
                "workers": 2,
                "stages": [{"name": "full", "tasks": "full"}],
                "agent_limits": {"timeout_s": 300, "max_steps": 4},
            }
        )
    )
    archive_path = tmp_path / "a.db"
    run = dgm("run", str(config), "--archive", str(archive_path), "--quiet", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    arch = open_archive(archive_path)
    (run_info,) = arch.runs()
    seed = arch.agents(run_info.id)[0]
    evals = {e.task_id: e for e in arch.evaluations(seed.id)}
    assert set(evals) == {SOLVED, UNSOLVED}
    assert evals[SOLVED].resolved, (
        evals[SOLVED].logs.decode(errors="replace")[-3000:]
        if isinstance(evals[SOLVED].logs, bytes)
        else evals[SOLVED].logs
    )
    assert not evals[UNSOLVED].resolved
    task = first_task(SOLVED)
    assert {t: evals[SOLVED].tests[t] for t in task.FAIL_TO_PASS} == dict.fromkeys(
        task.FAIL_TO_PASS, "PASSED"
    )

    bench = dgm(
        "bench",
        "run",
        "--agent",
        "seed",
        "--suite",
        f"swebench:{instances}",
        "--model",
        model,
        "--archive",
        str(archive_path),
        "--agent-timeout",
        "300",
        "--max-steps",
        "4",
        cwd=tmp_path,
    )
    assert bench.returncode == 0, bench.stderr[-3000:]
    bench_run = next(r for r in arch.runs() if r.kind == "bench")
    bench_agent = arch.agents(bench_run.id)[0]
    agreed = {e.task_id: e.resolved for e in arch.evaluations(bench_agent.id)}
    assert agreed == {SOLVED: True, UNSOLVED: False}
    leftovers = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=dgm.run={bench_run.id}"],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert not leftovers  # every backend opened was closed


def test_a_missing_image_is_one_line_before_a_run_exists(instances: Path, tmp_path: Path) -> None:
    rows = [json.loads(line) for line in instances.read_text().splitlines()]
    rows[0]["image"] = "sweb.eval.x86_64.nobody__nothing-1:latest"
    missing = tmp_path / "missing.jsonl"
    missing.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = tmp_path / "run.yaml"
    config.write_text(
        yaml.safe_dump(
            {"suite": f"swebench:{missing}", "stages": [{"name": "full", "tasks": "full"}]}
        )
    )
    archive_path = tmp_path / "m.db"
    for args, says in (
        ([str(config)], "sweb.eval.x86_64.nobody__nothing-1:latest is not present locally"),
        # the default preset's stages name DGM's subsets of SWE-bench Verified, which this file lacks
        (
            ["--suite", f"swebench:{instances}"],
            "lacks 10 of the 10 instances of DGM's 'small' subset",
        ),
    ):
        out = dgm("run", *args, "--archive", str(archive_path), "--quiet", cwd=tmp_path)
        assert out.returncode == 2 and says in out.stderr, out.stderr
        assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not archive_path.exists() or not open_archive(archive_path).runs()
    bench = dgm(
        "bench",
        "run",
        "--agent",
        "seed",
        "--suite",
        f"swebench:{missing}",
        "--archive",
        str(archive_path),
        cwd=tmp_path,
    )
    assert bench.returncode == 2 and "is not present locally" in bench.stderr, bench.stderr
    assert not archive_path.exists() or not open_archive(archive_path).runs()

"""Opt-in: run DGM's own initial agent, unchanged, on a swe-mini task through dgm.

    DGM_REPO=/path/to/a/checkout/of/jennyzzt/dgm python -m tests.agent_format.real_dgm [TASK]

Nothing of DGM is in this repository (CI has no checkout and no internet), so this is not
a pytest test: give a checkout and it runs. It copies the files DGM's own harness puts in
its container (swe_bench/harness.py: coding_agent.py, requirements.txt, pytest.ini, llm.py,
llm_withtools.py, tools/, utils/, tests/, prompts/) into a temporary agent folder, byte for
byte, and runs `dgm bench run --agent-format dgm` on it with a scripted model that answers
DGM's Claude-on-Bedrock tool use: a `bash` call that applies the task's gold patch, then
"Done.". Prints one JSON line: resolved, the evaluation's error kind, the calls the gateway
recorded (purpose, model, error kind), and the ends of the patch and the chat history.
Exit code 0 only when the task is resolved.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import yaml

from archive import open_archive
from benchmarks.suites import open_suite, select_tasks
from tests.processes import DGM

HARNESS_COPIES = ["coding_agent.py", "requirements.txt", "pytest.ini", "llm.py", "llm_withtools.py",
                  "tools", "utils", "tests", "prompts"]  # fmt: skip
DEFAULT_TASK = "ledgerly__ledgerly-1"


def agent_folder(checkout: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in HARNESS_COPIES:
        src = checkout / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.is_file():
            shutil.copy2(src, dest / name)
    return dest


def script(task_id: str) -> list[dict[str, object]]:
    (task,) = select_tasks(open_suite("swe-mini").tasks(), [task_id])
    title = task.problem_statement.strip().splitlines()[0]
    patch = base64.b64encode(task.patch.encode()).decode()
    apply = f"cd /testbed && echo {patch} | base64 -d | git apply && git status --short"
    return [
        {"pattern": re.escape(title), "tool_calls": [{"name": "bash", "arguments": {"command": apply}}]},
        *["Done."] * 4,  # after the tool's result (DGM retries a failed call three times)
    ]  # fmt: skip


def text(value: str | bytes) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def main() -> int:
    checkout = Path(os.environ.get("DGM_REPO", "")).expanduser()
    if not (checkout / "coding_agent.py").is_file():
        print("set DGM_REPO to a checkout of github.com/jennyzzt/dgm", file=sys.stderr)
        return 2
    task_id = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_TASK
    with tempfile.TemporaryDirectory(prefix="dgm-real-agent-") as tmp:
        work = Path(tmp)
        agent = agent_folder(checkout, work / "agent")
        (work / "script.yaml").write_text(yaml.safe_dump(script(task_id), sort_keys=False))
        proc = subprocess.run(
            [str(DGM), "bench", "run", "--agent", str(agent), "--agent-format", "dgm",
             "--suite", "swe-mini", "--tasks", task_id, "--model", f"scripted:{work / 'script.yaml'}",
             "--agent-timeout", "900", "--archive", str(work / "a.db")],
            cwd=work, capture_output=True, text=True, timeout=3600,
        )  # fmt: skip
        if proc.returncode != 0:
            print(proc.stdout + proc.stderr, file=sys.stderr)
            return 1
        with open_archive(work / "a.db") as arch:
            (run,) = arch.runs()
            (agent_row,) = arch.agents(run.id)
            (ev,) = arch.evaluations(agent_row.id)
            calls = [
                (c.purpose, c.model, c.error_kind) for c in arch.llm_calls(run.id, bodies=False)
            ]
            print(
                json.dumps(
                    {
                        "task": task_id,
                        "resolved": ev.resolved,
                        "error_kind": ev.error_kind,
                        "tests": Counter(ev.tests.values()),
                        "logs_tail": text(ev.logs)[-2500:],
                        "calls": calls,
                        "patch": text(ev.patch)[:600],
                        "chat_history_tail": text(ev.trajectory)[-1500:],
                    }
                )
            )
            return 0 if ev.resolved else 1


if __name__ == "__main__":
    sys.exit(main())

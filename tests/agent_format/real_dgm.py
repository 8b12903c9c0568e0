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

Then `dgm run` with the self_modify operator from the same agent: the parent, whose
instruction gets no fix from the script, resolves nothing; run with --self_improve on its
own code it edits its instruction with a bash call; the child is admitted and, told the fix
because of its new instruction, resolves the task. A second JSON line: the agents
(operator, status, score), the child's diff, the calls by purpose.
Exit code 0 only when the task is resolved and the child is admitted with score 1.0.
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


PROPOSAL = {
    "log_summarization": "The agent made no change: it answered without using a tool.",
    "potential_improvements": ["ask for the smallest change"],
    "improvement_proposal": "Ask for the smallest change that fixes the problem.",
    "implementation_suggestion": "Extend the instruction in coding_agent.py's forward().",
    "problem_description": "The agent's instruction does not ask for a minimal fix.",
}
SELF_EDIT = (
    "cd /testbed && sed -i 's/Help solve the following problem\\./Help solve the following "
    "problem. Make the smallest change that fixes it./' coding_agent.py && git diff --stat"
)


def evolution_script(task_id: str) -> list[object]:
    """DGM's agent improves itself (a bash call editing its own instruction); only an agent
    with the new instruction is told the fix, so the child resolves what its parent did not."""
    (task,) = select_tasks(open_suite("swe-mini").tasks(), [task_id])
    title = re.escape(task.problem_statement.strip().splitlines()[0])
    fix = script(task_id)[0]
    return [
        {"pattern": "Answer with one JSON object", "content": "```json\n" + json.dumps(PROPOSAL) + "\n```"},
        {"pattern": "# Improve this coding agent", "tool_calls": [{"name": "bash", "arguments": {"command": SELF_EDIT}}]},
        {**fix, "pattern": f"(?s)Make the smallest change.*{title}"},
        {"pattern": title, "content": "Done."},  # the parent's instruction: no change made
        *["Done."] * 8,
    ]  # fmt: skip


def self_modification(agent: Path, work: Path, task_id: str) -> dict[str, object]:
    """`dgm run` with self_modify from DGM's agent: is its child admitted, and better?"""
    (work / "evolve.yaml").write_text(yaml.safe_dump(evolution_script(task_id), sort_keys=False))
    config = {
        "model": f"scripted:{work / 'evolve.yaml'}", "operator": "self_modify", "selector": "best",
        "seed_agent": str(agent), "agent_format": {"kind": "dgm"}, "max_iterations": 1,
        "workers": 1, "seed": 5, "stages": [{"name": "small", "tasks": [task_id]}],
    }  # fmt: skip
    (work / "run.yaml").write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        [str(DGM), "run", str(work / "run.yaml"), "--quiet"],
        cwd=work, capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    if proc.returncode != 0:
        return {"exit_code": proc.returncode, "stderr": proc.stderr[-2000:]}
    with open_archive(work / ".dgm" / "archive.db") as arch:
        (run,) = arch.runs()
        agents = arch.agents(run.id)
        child = agents[-1] if len(agents) > 1 else None
        return {
            "agents": [(a.operator, a.status, a.score) for a in agents],
            "child_diff": arch.diff(child.id) if child else None,
            "child_origin_log": (arch.agent(child.id).origin or {}).get("self_modify_log", "")[-800:] if child else None,
            "calls": dict(Counter(c.purpose for c in arch.llm_calls(run.id, bodies=False))),
        }  # fmt: skip


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
            resolved = ev.resolved
        evolved = self_modification(agent, work, task_id)
        print(json.dumps(evolved))
        agents = evolved.get("agents") or []
        admitted = len(agents) == 2 and agents[1][1] == "evaluated" and agents[1][2] == 1.0
        return 0 if resolved and admitted else 1


if __name__ == "__main__":
    sys.exit(main())

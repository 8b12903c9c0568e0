"""A small run with everything the UI shows, and hostile strings wherever the archive
takes text: agent code, origins, reasons, trajectories, patches, logs, LLM text."""

from __future__ import annotations

import json

from archive import Archive, LLMCallRecord

SCRIPT = "<script>window.__pwned = 1; alert('xss')</script>"
IMG = '"><img src=x id=injected onerror="window.__pwned=2;alert(1)">'
JS_URL = "javascript:window.__pwned=3;alert(1)"
HOSTILE = f"{SCRIPT} {IMG} [click]({JS_URL}) <a href='{JS_URL}' id=evil>evil</a>"

SEED = {
    "agent/loop.py": b'"""The agent loop."""\n\nimport json\n\n\ndef run(task, limit=10):\n    # call the model\n    steps = 0\n    while steps < limit:\n        steps += 1\n    return {"steps": steps, "ok": True}\n',
    "agent/tools.py": b"def bash(cmd):\n    return cmd\n",
}


def trajectory(task: str) -> bytes:
    return json.dumps(
        {
            "messages": [
                {"role": "system", "content": "You are a coding agent."},
                {"role": "user", "content": f"Fix {task}. {HOSTILE}"},
                {
                    "role": "assistant",
                    "content": f"I will look. {IMG}",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "bash", "arguments": json.dumps({"cmd": SCRIPT})},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": f"output {SCRIPT}"},
                {"role": "assistant", "content": "Done."},
            ],
            "info": {"steps": 2},
        }
    ).encode()


def build(archive: Archive, name: str = "sample-run") -> dict[str, str]:
    """Grow a run: a seed, children, a crossover child, a rejected one; returns ids by role."""
    run = archive.create_run(name, config={"model": "test-model", "workers": 2, "budget_usd": 1.0})
    ids = {"run": run}
    seed = archive.add_agent(run, SEED, operator="seed")
    files = dict(SEED)
    files["agent/loop.py"] = (
        SEED["agent/loop.py"].replace(b"limit=10", b"limit=20") + f"# {SCRIPT}\n".encode()
    )
    child = archive.add_agent(
        run,
        files,
        parent_id=seed,
        operator="self_modify",
        origin={
            "diagnosis": f"the loop stops early {HOSTILE}",
            "proposal": f"raise the limit {IMG}",
        },
    )
    other = archive.add_agent(
        run,
        {**SEED, "agent/tools.py": b"def bash(cmd, timeout=5):\n    return cmd\n"},
        parent_id=seed,
        operator="self_modify",
        origin={"diagnosis": "timeouts"},
    )
    cross = archive.add_agent(
        run,
        {**files, "agent/tools.py": b"def bash(cmd, timeout=5):\n    return cmd\n"},
        parent_id=child,
        second_parent_id=other,
        operator="crossover",
    )
    bad = archive.add_agent(run, SEED, parent_id=child, operator="self_modify")
    for agent, skill in ((seed, 0.25), (child, 0.5), (other, 0.4), (cross, 0.75)):
        evals = []
        for t in range(4):
            task = f"demo__task-{t}"
            resolved = t < int(skill * 4)
            evals.append(
                dict(
                    task_id=task,
                    attempt=0,
                    stage="full",
                    resolved=resolved,
                    score=float(resolved),
                    tests={f"tests/test_{t}.py::test_ok": "PASSED" if resolved else "FAILED"},
                    duration_s=1.5,
                    patch=f"diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-old\n+new {SCRIPT}\n",
                    logs=f"pytest output {IMG}\n",
                    trajectory=trajectory(task),
                )
            )
        archive.record_evaluations(agent, evals)
        archive.set_agent_score(agent, "full", skill)
        archive.set_agent_status(agent, "evaluated")
    archive.set_agent_status(bad, "rejected", reason=f"empty patch {HOSTILE}")
    call = archive.record_llm_call(
        LLMCallRecord(
            run,
            child,
            "demo__task-0",
            "diagnose",
            "test-model",
            120,
            40,
            0.0123,
            1.2,
            request=json.dumps(
                {"messages": [{"role": "user", "content": f"Why? {HOSTILE}"}]}
            ).encode(),
            response=json.dumps(
                {"choices": [{"message": {"role": "assistant", "content": f"Because {SCRIPT}"}}]}
            ).encode(),
            error_kind=None,
            request_key="k1",
        )
    )
    archive.append_event(run, "session_started", {"resumed": False})
    archive.append_event(run, "job_started", {"job": "expand", "iteration": 5, "parent": cross})
    archive.append_event(
        run,
        "expansion_failed",
        {"iteration": 4, "parent": child, "reason": f"LLM said nothing {HOSTILE}"},
    )
    ids.update(seed=seed, child=child, other=other, cross=cross, bad=bad, call=call)
    return ids

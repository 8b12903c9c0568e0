"""Agents in DGM's format (dgm/agent_format.py) in the real Docker sandbox, with the real
gateway and a scripted model that answers with tool calls.

- the sandbox: the loopback endpoints answer, nothing else is reachable, no host key is seen;
- `dgm bench run` of tests/agent_format/dgm_style_agent (Anthropic SDK, tool_use blocks):
  it edits the repository, and its diff is graded resolved; the same on a SWE-bench
  instance image built here, its packages in a venv layer of that image;
- `dgm run` with self_modify: the handicapped agent improves itself through the OpenAI SDK
  (tool_calls), the child is admitted and resolves the task its parent could not.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from archive import open_archive
from benchmarks.suites import open_suite, select_tasks
from dgm.agent_contract import agent_files
from dgm.evaluator import EvalLimits, run_agent
from dgm.llm import Gateway
from dgm.llm.scripted import ScriptedEntry, ScriptedProvider
from sandbox import Limits, open_backend
from tests.engine.test_cli_run import gold_entry
from tests.processes import DGM

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]

AGENT = Path(__file__).parent / "dgm_style_agent"
TASK = "ledgerly__ledgerly-1"
PLANTED = {
    "OPENAI_API_KEY": "sk-host-PLANTED-openai-0123456789",
    "ANTHROPIC_API_KEY": "sk-ant-host-PLANTED-0123456789",
    "AWS_SECRET_ACCESS_KEY": "host-PLANTED-aws-secret-0123456789",
}

PROBE = r'''"""Probes its sandbox; writes what it found to the chat history file (DGM's CLI)."""
import argparse, glob, json, os, socket, urllib.request

p = argparse.ArgumentParser()
for o in ("--problem_statement", "--git_dir", "--base_commit", "--chat_history_file", "--outdir"):
    p.add_argument(o)
a = p.parse_args()

def post(url, body, headers):
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())

def reach(host, port):
    try:
        socket.create_connection((host, port), timeout=3).close()
        return "connected"
    except OSError as e:
        return type(e).__name__

found = {"env": dict(os.environ), "environs": ""}
for f in glob.glob("/proc/*/environ"):
    try:
        found["environs"] += open(f, "rb").read().decode(errors="replace")
    except OSError:
        pass
key = os.environ["OPENAI_API_KEY"]
found["openai"] = post(os.environ["OPENAI_BASE_URL"] + "/chat/completions",
    {"model": "probe-model", "messages": [{"role": "user", "content": "ping"}]},
    {"Authorization": "Bearer " + key})
found["anthropic"] = post(os.environ["ANTHROPIC_BASE_URL"] + "/v1/messages",
    {"model": "probe-model", "max_tokens": 10, "messages": [{"role": "user", "content": "ping"}]},
    {"x-api-key": os.environ["ANTHROPIC_API_KEY"]})
found["unmapped"] = post(os.environ["OPENAI_BASE_URL"] + "/chat/completions",
    {"model": "gpt-5", "messages": [{"role": "user", "content": "ping"}]},
    {"Authorization": "Bearer " + key})
found["outside"] = {f"{h}:{port}": reach(h, port) for h, port in
    [("1.1.1.1", 443), ("172.17.0.1", 80), ("10.0.0.1", 80), ("pypi.org", 443)]}
with open(a.chat_history_file, "w") as f:
    json.dump(found, f)
'''


def test_the_sandbox_has_the_loopback_endpoints_only_and_no_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k, v in PLANTED.items():
        monkeypatch.setenv(k, v)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README").write_text("x\n")
    subprocess.run(
        "git init -q && git add -A && git -c user.email=t@t -c user.name=t commit -qm base",
        shell=True,
        cwd=repo,
        check=True,
    )
    files = {"coding_agent.py": PROBE.encode()}  # standard library only: no layer
    provider = ScriptedProvider([ScriptedEntry(pattern="ping", content="pong")], model="scripted")
    with (
        Gateway(provider, agent_models={"probe-model": "run"}) as gw,
        open_backend("docker", run_label="agentfmt-probe", pool_size=1) as backend,
    ):
        session = gw.open_session(purpose="agent")
        run = run_agent(
            files, "probe", "", repo, backend, gw, session, EvalLimits(sandbox=Limits())
        )
    assert run.exit_code == 0, run.log
    found = json.loads(run.trajectory)
    assert found["openai"][0] == 200
    assert found["openai"][1]["choices"][0]["message"]["content"] == "pong"
    assert found["anthropic"][0] == 200 and found["anthropic"][1]["content"][0]["text"] == "pong"
    assert found["unmapped"][0] == 400 and "'gpt-5'" in found["unmapped"][1]["error"]["message"]
    assert "connected" not in found["outside"].values(), found["outside"]
    env = found["env"]
    assert env["OPENAI_BASE_URL"].startswith("http://127.0.0.1:")
    assert env["OPENAI_API_KEY"] == env["ANTHROPIC_API_KEY"] == session.token
    seen = json.dumps(found)
    for value in PLANTED.values():
        assert value not in seen
    assert (gw.usage(session).calls, gw.usage(session).errors) == (2, 1)  # answered, refused


def task_entry(task_id: str) -> dict[str, Any]:
    (task,) = select_tasks(open_suite("swe-mini").tasks(), [task_id])
    return gold_entry(task)


DONE = {"pattern": r"^(edited|error|created)|\[exit code \d+\]$", "content": "Done."}


def dgm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DGM), *args], cwd=cwd, capture_output=True, text=True, timeout=900)


def test_bench_run_of_a_dgm_format_agent_is_graded(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text(yaml.safe_dump([task_entry(TASK), DONE]))
    proc = dgm(
        "bench", "run", "--agent", str(AGENT), "--agent-format", "dgm", "--suite", "swe-mini",
        "--tasks", TASK, "--model", f"scripted:{script}", "--archive", str(tmp_path / "a.db"),
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    with open_archive(tmp_path / "a.db") as arch:
        (summary,) = arch.runs()
        assert arch.run(summary.id).config["agent_format"] == "dgm"
        (agent,) = arch.agents(summary.id)
        (ev,) = arch.evaluations(agent.id)
        assert ev.resolved, ev.logs[-3000:]
        assert all(v == "PASSED" for v in ev.tests.values())
        history = ev.trajectory.decode()  # the agent's chat_history.md
        assert "Tool use: editor" in history and "Tool result: edited" in history
        calls = arch.llm_calls(summary.id, bodies=False)
        assert [(c.purpose, c.error_kind) for c in calls] == [("agent", None)] * 2
    assert "resolved 1/1" in proc.stdout.replace("\n", " ")


PROPOSAL = {
    "log_summarization": "Every str_replace answered 'error: editing is disabled', so no patch was made.",
    "potential_improvements": ["make the editor edit"],
    "improvement_proposal": "Remove the early return that disables str_replace in tools/edit.py.",
    "implementation_suggestion": "Delete the line that returns 'error: editing is disabled'.",
    "problem_description": "The editor's str_replace never edits: it always returns an error.",
}
WORKING = '    if command == "str_replace":\n'
HANDICAP = WORKING + '        return "error: editing is disabled"\n'


def test_self_modification_of_a_dgm_format_agent_is_admitted_and_resolves(
    tmp_path: Path,
) -> None:
    agent = tmp_path / "handicapped"
    for rel, data in agent_files(AGENT).items():
        (agent / rel).parent.mkdir(parents=True, exist_ok=True)
        (agent / rel).write_bytes(data)
    edit = (agent / "tools" / "edit.py").read_text()
    assert WORKING in edit, "the test agent's editor changed: update this test's handicap"
    (agent / "tools" / "edit.py").write_text(edit.replace(WORKING, HANDICAP))
    entries = [
        {"pattern": "Answer with one JSON object", "content": "```json\n" + json.dumps(PROPOSAL) + "\n```"},
        # the agent on its own code (--self_improve: OpenAI chat completions, tool_calls)
        {
            "pattern": "# Improve this coding agent",
            "tool_calls": [{"name": "bash", "arguments": {"command": "sed -i '/editing is disabled/d' tools/edit.py"}}],
        },
        task_entry(TASK),
        DONE,
    ]  # fmt: skip
    script = tmp_path / "script.yaml"
    script.write_text(yaml.safe_dump(entries, sort_keys=False))
    config = tmp_path / "run.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model": f"scripted:{script}",
                "operator": "self_modify",
                "selector": "best",
                "seed_agent": str(agent),
                "agent_format": {"kind": "dgm", "models": {"claude-3-5-sonnet-20241022": "run", "gpt-4o-2024-08-06": "run"}},
                "max_iterations": 1,
                "workers": 1,
                "seed": 5,  # DGM's draw picks a special case: the seed's patches are all empty
                "stages": [{"name": "small", "tasks": [TASK]}],
            }
        )
    )  # fmt: skip
    proc = dgm("run", str(config), "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    archive = open_archive(tmp_path / ".dgm" / "archive.db", create=False)
    (run,) = archive.runs()
    seed, child = archive.agents(run.id)
    assert child.operator == "self_modify" and child.status == "evaluated", archive.agent(
        child.id
    ).origin
    diff = archive.diff(child.id)
    removed = [ln for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    assert removed == ['-        return "error: editing is disabled"']
    assert seed.score == 0.0 and child.score == 1.0
    purposes = Counter(c.purpose for c in archive.llm_calls(run.id, bodies=False))
    assert purposes["diagnose"] == 1 and purposes["self_modify"] == 2  # the bash call, then "Done."
    assert purposes["agent"] == 4  # seed and child: the edit, then "Done."


def uninstallable_agent(tmp: Path) -> Path:
    """The test agent with a requirements.txt naming no package of the index."""
    agent = tmp / "uninstallable-agent"
    for rel, data in agent_files(AGENT).items():
        (agent / rel).parent.mkdir(parents=True, exist_ok=True)
        (agent / rel).write_bytes(data)
    (agent / "requirements.txt").write_text("dgm-test-no-such-package-4f2a==1.0\n")
    return agent


def test_requirements_that_do_not_install_are_one_line_before_any_run(tmp_path: Path) -> None:
    agent = uninstallable_agent(tmp_path)
    proc = dgm(
        "bench", "run", "--agent", str(agent), "--suite", "swe-mini", "--tasks", TASK,
        "--archive", str(tmp_path / "a.db"), cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "requirements.txt did not install" in last and "dgm-test-no-such-package-4f2a" in last
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "a.db").exists() or not open_archive(tmp_path / "a.db").runs()


def test_bench_run_of_a_dgm_format_agent_on_a_swebench_instance_image(tmp_path: Path) -> None:
    """The agent's packages go into a venv layer of the instance image (built once, keyed
    by the image's ID and the requirements), the instance's own Python untouched."""
    import docker

    from dgm.agent_format import VENV, requirements
    from sandbox.image import build_layer
    from tests.benchmarks.test_swebench_run_docker import build_image, image, row

    (task,) = select_tasks(open_suite("swe-mini").tasks(), [TASK])
    client = docker.from_env()
    build_image(client, task, tmp_path)
    suite = tmp_path / "instances.jsonl"
    suite.write_text(json.dumps(row(task)) + "\n")
    script = tmp_path / "script.yaml"
    script.write_text(yaml.safe_dump([task_entry(TASK), DONE]))
    reqs = requirements(agent_files(AGENT))
    layer = ""
    try:
        proc = dgm(
            "bench", "run", "--agent", str(AGENT), "--agent-format", "dgm", "--suite",
            f"swebench:{suite}", "--model", f"scripted:{script}", "--archive",
            str(tmp_path / "a.db"), cwd=tmp_path,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        with open_archive(tmp_path / "a.db") as arch:
            (summary,) = arch.runs()
            (agent,) = arch.agents(summary.id)
            (ev,) = arch.evaluations(agent.id)
            assert ev.resolved, ev.logs[-3000:]
            assert "Tool result: edited" in ev.trajectory.decode()
        # the layer is there, is reused, holds the SDKs in its venv and not in the image's Python
        layer = build_layer(client, image(task), pip=reqs, wheels_only=True, venv=VENV)
        assert layer.startswith("dgm-problem:") and client.images.get(layer)
        probe = "python3 -c 'import anthropic' 2>/dev/null && echo leaked; "
        probe += f"{VENV}/bin/python -c 'import anthropic, openai; print(\"venv\")'; echo $PATH"
        out = client.containers.run(layer, ["sh", "-c", probe], remove=True, network_mode="none")
        lines = out.decode().split()
        assert lines[0] == "venv" and "leaked" not in lines, lines
        base_path = client.images.get(image(task)).attrs["Config"]["Env"]
        assert f"PATH={lines[1]}" in base_path  # the instance image's PATH kept
        # requirements that do not install: one line, before any run, as on swe-mini
        proc = dgm(
            "bench", "run", "--agent", str(uninstallable_agent(tmp_path)), "--suite", f"swebench:{suite}",
            "--archive", str(tmp_path / "b.db"), cwd=tmp_path,
        )  # fmt: skip
        assert proc.returncode == 2, proc.stderr
        last = proc.stderr.strip().splitlines()[-1]
        assert "requirements.txt did not install" in last and "4f2a" in last, last
        assert not (tmp_path / "b.db").exists() or not open_archive(tmp_path / "b.db").runs()
    finally:  # the layer is keyed by this image's ID: no later run would use it
        tags = [image(task), layer] if layer else [image(task)]
        subprocess.run(["docker", "rmi", "-f", *tags], capture_output=True)

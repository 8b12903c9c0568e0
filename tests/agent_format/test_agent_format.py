"""DGM's agent format without a sandbox: telling it from the files, refusing what is not
one, admitting its children, its launch, and the CLI's one-line refusals."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from dgm import agent_format
from dgm.agent_contract import AGENT_CMD, agent_files, launch
from dgm.config import RunConfig
from dgm.errors import UserError
from dgm.mutators.admission import rejection
from dgm.suite_run import SuiteTarget, open_stages
from sandbox import SandboxError
from tests.processes import DGM

AGENT = Path(__file__).parent / "dgm_style_agent"
SESSION_ENV = {"DGM_LLM_SOCKET": "/run/dgm/llm.sock", "DGM_LLM_TOKEN": "tok", "DGM_LLM_MODEL": "m"}


def test_the_format_is_told_by_the_files() -> None:
    files = agent_files(AGENT)
    assert agent_format.kind_of(files) == "dgm"
    assert agent_format.kind_of({"__main__.py": b""}) == "native"
    assert agent_format.kind_of({"coding_agent.py": b"print('no options')"}) is None
    assert agent_format.requirements(files) == ["anthropic==2.17.0", "openai==3.63.0"]


def test_a_folder_that_is_neither_is_refused(tmp_path: Path) -> None:
    (tmp_path / "coding_agent.py").write_text("import argparse\n")
    with pytest.raises(ValueError, match="does not take DGM's options"):
        agent_files(tmp_path)
    with pytest.raises(ValueError, match="is an agent in dgm format, not native"):
        agent_format.check(agent_files(AGENT), "native", "the agent")


@pytest.mark.parametrize(
    "line",
    [
        "evil @ https://example.org/evil.tar.gz",
        "git+https://example.org/x.git",
        "./local",
        "/abs/pkg",
    ],
)
def test_a_requirement_that_is_no_index_package_is_refused(line: str) -> None:
    files = {**agent_files(AGENT), "requirements.txt": f"openai\n{line}\n".encode()}
    with pytest.raises(SandboxError, match="is not a package of the index"):
        agent_format.requirements(files)


def test_children_must_keep_the_format_to_be_admitted() -> None:
    parent = agent_files(AGENT)
    edited = {**parent, "tools/bash.py": parent["tools/bash.py"] + b"# tweak\n"}
    assert rejection(parent, edited) is None
    gone = {k: v for k, v in parent.items() if k != "coding_agent.py"}
    assert rejection(parent, gone) == "breaks DGM's agent format: coding_agent.py is gone"
    renamed = {
        **parent,
        "coding_agent.py": parent["coding_agent.py"].replace(b"--outdir", b"--out"),
    }
    assert "no longer names --outdir" in (rejection(parent, renamed) or "")


def test_the_launch_puts_the_token_where_the_sdks_look_and_nothing_else() -> None:
    start = launch(agent_files(AGENT), SESSION_ENV, 600.0, self_improve=True)
    script = start.command[-1]
    assert "loopback.py" in script and script.endswith("--outdir /out/ --self_improve")
    assert all(start.env[k] == "tok" for k in agent_format.KEY_VARIABLES)
    assert "PYTHONPATH" not in start.env and start.trajectory == "/out/chat_history.md"
    assert set(start.files) == {"loopback.py"}
    native = launch({"__main__.py": b""}, SESSION_ENV, 600.0)
    assert native.command == AGENT_CMD and "OPENAI_API_KEY" not in native.env


def test_the_loopback_pipes_a_port_to_a_unix_socket(tmp_path: Path) -> None:
    import socketserver
    import threading

    class Echo(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.wfile.write(b"echo:" + self.rfile.readline())

    path = str(tmp_path / "s.sock")
    server = socketserver.UnixStreamServer(path, Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = (
        "import os, socket; s = socket.create_connection(('127.0.0.1', int(os.environ['P']))); "
        "s.sendall(b'hi\\n'); print(s.recv(100).decode(), os.environ['URL'])"
    )
    proc = subprocess.run(
        ["python3", str(agent_format.LOOPBACK), path, "P={port}", "URL=http://127.0.0.1:{port}/sdk",
         "--", "python3", "-c", client],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    server.shutdown()
    server.server_close()
    assert proc.returncode == 0, proc.stderr
    echoed, url = proc.stdout.split()
    assert echoed == "echo:hi" and url.startswith("http://127.0.0.1:") and url.endswith("/sdk")


def test_bench_run_refuses_a_wrong_format_in_one_line(tmp_path: Path) -> None:
    for args, words in [
        (
            ["--agent", str(AGENT), "--agent-format", "native"],
            "is an agent in dgm format, not native",
        ),
        (["--agent", str(AGENT), "--agent-format", "hgm"], "--agent-format 'hgm': use one of"),
    ]:
        proc = subprocess.run(
            [str(DGM), "bench", "run", *args, "--suite", "swe-mini", "--archive", str(tmp_path / "a.db")],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )  # fmt: skip
        assert proc.returncode == 2 and words in proc.stderr and "Traceback" not in proc.stderr
        assert not (tmp_path / "a.db").exists()


def test_a_seed_folder_in_neither_format_is_a_user_error(tmp_path: Path) -> None:
    from dgm.config import RunConfig
    from dgm.suite_run import seed_agent_files

    (tmp_path / "coding_agent.py").write_text("print('hello')\n")
    with pytest.raises(UserError, match="seed_agent: .*DGM's options"):
        seed_agent_files(RunConfig(seed_agent=str(tmp_path)))
    assert agent_format.kind_of(seed_agent_files(RunConfig(seed_agent=str(AGENT)))) == "dgm"


def test_requirements_under_the_local_sandbox_are_refused_in_one_line(tmp_path: Path) -> None:
    """Before any run exists: the local sandbox installs no packages (docs/agents.md)."""
    why = "requirements.txt (anthropic==2.17.0, openai==3.63.0) is installed into a Docker"
    (tmp_path / "script.yaml").write_text("[]\n")
    for args in (
        ["bench", "run", "--agent", str(AGENT), "--backend", "local", "--suite", "swe-mini",
         "--archive", str(tmp_path / "a.db")],
        ["run", "--set", f"seed_agent={AGENT}", "--sandbox", "local", "--model",
         f"scripted:{tmp_path / 'script.yaml'}"],
    ):  # fmt: skip
        proc = subprocess.run(
            [str(DGM), *args], capture_output=True, text=True, timeout=120, cwd=tmp_path
        )
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1, proc.stderr
        assert why in lines[0] and "use the docker sandbox" in lines[0]
    assert not (tmp_path / "a.db").exists()
    assert not (tmp_path / ".dgm").exists()  # refused before `dgm run` made its archive
    stdlib_only = {k: v for k, v in agent_files(AGENT).items() if k != "requirements.txt"}
    agent_format.prepare(stdlib_only, "local", lambda _m: None)  # nothing to install: runs


def test_set_takes_model_names_with_dots_and_keeps_dgms_own() -> None:
    from dgm.config import load_config

    config = load_config(
        None,
        assignments=[
            "agent_format.models.claude-3.5-sonnet=run",
            "agent_format.models.us.anthropic.claude-3-7-sonnet-20250219-v1:0=run",
        ],
    )
    assert config.agent_format.models == {
        **agent_format.DEFAULT_MODELS,
        "claude-3.5-sonnet": "run",
        "us.anthropic.claude-3-7-sonnet-20250219-v1:0": "run",
    }
    assert load_config(None, assignments=["reevo.init_pop_size=12"]).reevo.init_pop_size == 12
    with pytest.raises(
        UserError, match="invalid config field .model.: Input should be a valid string"
    ):
        load_config(None, assignments=["model.name=x"])


def swebench_target(tmp_path: Path, operator: str) -> SuiteTarget:
    """A run's target on a three-instance SWE-bench file, two in its first stage (opened,
    not checked: no image is needed to say where the agent would run)."""
    rows = [
        {"instance_id": f"x__x-{n}", "repo": "x/x", "base_commit": "c", "problem_statement": "p",
         "patch": "", "test_patch": "", "image": f"example/sweb.eval.x-{n}:latest"}
        for n in (1, 2, 3)
    ]  # fmt: skip
    (tmp_path / "three.json").write_text(json.dumps(rows))
    config = RunConfig(
        suite=f"swebench:{tmp_path / 'three.json'}",
        operator=operator,
        stages=[
            {"name": "first", "tasks": ["x__x-1", "x__x-2"]},
            {"name": "later", "tasks": ["x__x-3"], "threshold": 0.5},
        ],
    )
    suite, plans, tasks, _ = open_stages(config)
    return SuiteTarget(config.suite, suite, plans, tasks)


def test_a_swebench_run_builds_only_the_layers_it_runs_agents_in(tmp_path: Path) -> None:
    images = ["example/sweb.eval.x-1:latest", "example/sweb.eval.x-2:latest"]
    # The diff operator runs an agent only in its evaluations: the instance images of the
    # first stage (the seed runs there; a later stage's layer is built when reached).
    assert swebench_target(tmp_path, "diff").layer_bases("diff") == (images, False)
    # DGM's self-modification runs the parent on its own code in the sandbox image too.
    assert swebench_target(tmp_path, "self_modify").layer_bases("self_modify") == (images, True)


def test_a_run_on_another_suite_builds_the_sandbox_image_layer_only() -> None:
    config = RunConfig(suite="swe-mini", operator="diff")
    suite, plans, tasks, _ = open_stages(config)
    assert SuiteTarget(config.suite, suite, plans, tasks).layer_bases("diff") == ([], True)

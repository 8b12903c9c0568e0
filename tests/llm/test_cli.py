"""`dgm llm serve / chat / usage` as a user runs them."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dgm.cli import app
from tests.llm.conftest import ask, post_chat

ROOT = Path(__file__).resolve().parents[2]


def _script(tmp_path: Path) -> Path:
    p = tmp_path / "s.yaml"
    p.write_text("- pattern: capital\n  content: Paris is the capital.\n")
    return p


def test_chat_prints_the_answer_tokens_and_cost(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["llm", "chat", "--model", f"scripted:{_script(tmp_path)}", "The capital of France?"]
    )
    assert result.exit_code == 0, result.output
    assert "Paris is the capital." in result.output
    # dollars as dgm.display shows them: nothing spent is $0, never $0.000000
    assert re.search(r"\d+ tokens in, \d+ out, \$0$", result.output, re.MULTILINE)


def test_chat_with_a_bad_model_is_one_line_and_exit_2() -> None:
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "from dgm.cli import main; main()",
            "llm",
            "chat",
            "--model",
            "gpt-4o",
            "hi",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "openai/gpt-4o" in r.stderr


def test_chat_reports_an_upstream_failure_as_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("[]")
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "from dgm.cli import main; main()",
            "llm",
            "chat",
            "--model",
            f"scripted:{empty}",
            "hi",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert (
        r.returncode == 2 and "scripted responses used" in r.stderr and "Traceback" not in r.stderr
    )


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serve_answers_on_its_socket_and_port_until_interrupted(
    tmp_path: Path, stop: signal.Signals
) -> None:
    sock = tmp_path / "gw" / "llm.sock"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from dgm.cli import main; main()",
            "llm",
            "serve",
            "--model",
            f"scripted:{_script(tmp_path)}",
            "--socket",
            str(sock),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "300"},
    )
    try:
        lines: list[str] = []
        deadline = time.time() + 60
        while not any("token" in line for line in lines) and time.time() < deadline:
            lines.append(proc.stdout.readline())  # type: ignore[union-attr]
        text = "".join(lines)
        token = re.search(r"token\s+(\S+)", text).group(1)  # type: ignore[union-attr]
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/v1", text).group(1))  # type: ignore[union-attr]
        status, body, _ = post_chat(str(sock), token, ask("the capital?"))
        assert status == 200 and body["choices"][0]["message"]["content"] == "Paris is the capital."
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request("GET", "/v1/models", headers={"Authorization": f"Bearer {token}"})
        assert json.loads(conn.getresponse().read())["data"][0]["id"].startswith("scripted:")
    finally:
        proc.send_signal(stop)
        try:  # communicate drains both pipes: a full stderr pipe must not hold the exit up
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(
                f"serve did not stop on {stop.name} within 60 s; stdout {out!r}, stderr {err!r}"
            )
    assert proc.returncode in (0, 130), (out, err)  # 130: the signal came before its wait
    assert not sock.exists()


# An interrupt whose handler runs inside a garbage collector's callback (or a finalizer)
# raises its KeyboardInterrupt where Python drops it ("Exception ignored"). Under load,
# serve's start-up can still be running Python when a Ctrl-C comes; here the collection
# comes right after the gateway opened its session, before serve waits.
DROPPED_INTERRUPT = """
import gc, os, signal, sys
from dgm.llm import gateway

opened = gateway.Gateway.open_session

def open_session(self, *args, **kwargs):
    session = opened(self, *args, **kwargs)

    def collecting(phase, info):
        gc.callbacks.remove(collecting)
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # the handler runs here, in the callback
            pass

    gc.callbacks.append(collecting)
    gc.collect()
    return session

gateway.Gateway.open_session = open_session
from dgm.cli import main
sys.argv[0] = "dgm"
main()
"""


def test_serve_stops_on_an_interrupt_python_dropped(tmp_path: Path) -> None:
    sock = tmp_path / "gw" / "llm.sock"
    proc = subprocess.Popen(
        [sys.executable, "-c", DROPPED_INTERRUPT, "llm", "serve"]
        + ["--model", f"scripted:{_script(tmp_path)}", "--socket", str(sock)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"serve did not stop on the dropped interrupt; stdout {out!r}, stderr {err!r}")
    assert proc.returncode == 0 and out.rstrip().endswith("stopped"), (out, err)
    assert "token" in out  # it had started: the interrupt came after the gateway opened
    assert err == "", err  # handled: no "Exception ignored" traceback for it
    assert not sock.exists()


@pytest.mark.local_model
def test_chat_with_the_local_model_works_offline() -> None:
    result = CliRunner().invoke(
        app,
        [
            "llm",
            "chat",
            "--model",
            "local",
            "--max-tokens",
            "12",
            "What is the capital of France? One word.",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "paris" in result.output.lower()
    assert re.search(r"local: \d+ tokens in, \d+ out, \$0$", result.output, re.MULTILINE)


def test_chat_replays_a_recorded_answer(tmp_path: Path) -> None:
    from archive import open_archive
    from dgm.llm import Gateway, open_provider

    db = tmp_path / "a.db"
    script = tmp_path / "s.yaml"
    script.write_text("- The recorded answer.\n")
    with open_archive(db) as store:
        run = store.create_run("recorded")
        with Gateway(open_provider(f"scripted:{script}"), archive=store, run_id=run) as gw:
            s = gw.open_session()
            # what `dgm llm chat` sends, written with integer-valued floats as a client might
            post_chat(
                gw.socket_path,
                s.token,
                {
                    "model": "x",
                    "messages": [{"role": "user", "content": "Say it."}],
                    "max_tokens": 512,
                    "temperature": 0,
                },
            )
    result = CliRunner().invoke(
        app, ["llm", "chat", "--model", f"replay:{run}", "--archive", str(db), "Say it."]
    )
    assert result.exit_code == 0, result.output
    assert "The recorded answer." in result.output
    result = CliRunner().invoke(
        app, ["llm", "chat", "--model", f"replay:{run}", "--archive", str(db), "Something else"]
    )
    from dgm.errors import UserError

    assert isinstance(result.exception, UserError) and "no recorded response" in str(
        result.exception
    )

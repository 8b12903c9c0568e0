"""The bundled SmolLM2-135M answers through the gateway: the only real model here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dgm.llm import Gateway, open_provider
from dgm.llm.local import gguf_path
from tests.llm.conftest import ask, post_chat

pytestmark = [pytest.mark.local_model, pytest.mark.timeout(600)]


def test_the_gguf_ships_inside_the_installed_package() -> None:
    path = gguf_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000


def test_local_model_answers_through_the_gateway_and_is_recorded(store: Any) -> None:
    run = store.create_run("local")
    with Gateway(open_provider("local"), archive=store, run_id=run) as gw:
        client = gw.client(purpose="diagnose")
        r = client.chat.completions.create(
            model="local", temperature=0, max_tokens=16,
            messages=[{"role": "user", "content": "What is the capital of France? Answer with one word."}])
        answer = r.choices[0].message.content
        assert "paris" in answer.lower(), answer
        assert r.usage.prompt_tokens > 5 and 0 < r.usage.completion_tokens <= 16
        # a stdlib caller over the socket gets the same deterministic answer (now from the archive)
        gw.flush()
        s = gw.open_session(purpose="agent")
        status, body, _ = post_chat(gw.socket_path, s.token, ask("What is the capital of France? Answer with one word.",
                                                                 temperature=0, max_tokens=16))
        assert status == 200 and body["choices"][0]["message"]["content"] == answer
    calls = store.llm_calls(run)
    assert [c.model for c in calls] == ["local", "local"] and all(c.error_kind is None for c in calls)
    assert calls[0].cost_usd == 0.0 and calls[0].tokens_out > 0


def test_local_model_copes_with_tool_messages(tmp_path: Path) -> None:
    with Gateway(open_provider("local")) as gw:
        s = gw.open_session()
        status, body, _ = post_chat(gw.socket_path, s.token, {"model": "local", "max_tokens": 8, "messages": [
            {"role": "user", "content": "List the files."},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": "{\"cmd\": \"ls\"}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "main.py"}]})
        assert status == 200, body
        assert isinstance(body["choices"][0]["message"]["content"], str)

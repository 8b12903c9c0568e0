"""The bundled SmolLM2-135M answers through the gateway: the only real model here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dgm.llm import Gateway, open_provider
from dgm.llm.errors import LLMError
from dgm.llm.local import MAX_ARRAY_ITEMS, MAX_STRING_CHARS, bounded, gguf_path, grammar_for
from dgm.mutators import EvalView
from dgm.mutators.chat import GatewayChat, json_schema_format
from dgm.mutators.diagnosis import PROPOSAL_SCHEMA, diagnose
from dgm.mutators.focus import Focus
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
            model="local",
            temperature=0,
            max_tokens=16,
            messages=[
                {"role": "user", "content": "What is the capital of France? Answer with one word."}
            ],
        )
        answer = r.choices[0].message.content
        assert "paris" in answer.lower(), answer
        assert r.usage.prompt_tokens > 5 and 0 < r.usage.completion_tokens <= 16
        # a stdlib caller over the socket gets the same deterministic answer (now from the archive)
        gw.flush()
        s = gw.open_session(purpose="agent")
        status, body, _ = post_chat(
            gw.socket_path,
            s.token,
            ask(
                "What is the capital of France? Answer with one word.", temperature=0, max_tokens=16
            ),
        )
        assert status == 200 and body["choices"][0]["message"]["content"] == answer
    calls = store.llm_calls(run)
    assert [c.model for c in calls] == ["local", "local"] and all(
        c.error_kind is None for c in calls
    )
    assert calls[0].cost_usd == 0.0 and calls[0].tokens_out > 0


def test_local_model_copes_with_tool_messages(tmp_path: Path) -> None:
    with Gateway(open_provider("local")) as gw:
        s = gw.open_session()
        status, body, _ = post_chat(
            gw.socket_path,
            s.token,
            {
                "model": "local",
                "max_tokens": 8,
                "messages": [
                    {"role": "user", "content": "List the files."},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "c1",
                                "type": "function",
                                "function": {"name": "bash", "arguments": '{"cmd": "ls"}'},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "c1", "content": "main.py"},
                ],
            },
        )
        assert status == 200, body
        assert isinstance(body["choices"][0]["message"]["content"], str)


def test_a_diagnosis_under_its_schema_parses_at_the_first_try(store: Any) -> None:
    """The bundled model cannot write DGM's diagnosis as free-form JSON; under the schema's
    grammar its first answer is a valid proposal."""
    run = store.create_run("local")
    with Gateway(open_provider("local"), archive=store, run_id=run) as gw:
        proposal, tries = diagnose(
            GatewayChat(gw),
            {"__main__.py": b"print('agent')\n"},
            Focus("unresolved", "t1"),
            EvalView(
                "t1",
                False,
                "empty_patch",
                "",
                "The agent said DONE without editing any file.",
                "FAILED test_total",
            ),
            "total() subtracts the prices instead of adding them.",
            agent_id="a1",
            retries=1,
            max_chars=2000,
        )
    assert tries == 1 and all(
        isinstance(v, str | list) and v for v in proposal.model_dump().values()
    )
    [call] = store.llm_calls(run)
    assert json.loads(call.request)["response_format"]["json_schema"]["schema"] == PROPOSAL_SCHEMA


def test_the_local_grammar_bounds_free_strings_and_keeps_enums() -> None:
    schema = {
        "type": "object",
        "properties": {
            "why": {"type": "string"},
            "pick": {"type": "string", "enum": ["a", "b"]},
            "ideas": {"type": "array", "items": {"type": "string"}},
        },
    }
    out = bounded(schema)
    assert out["properties"]["why"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_STRING_CHARS,
    }
    assert out["properties"]["pick"] == {"type": "string", "enum": ["a", "b"]}
    assert out["properties"]["ideas"]["maxItems"] == MAX_ARRAY_ITEMS
    assert grammar_for({"type": "text"}) is None and grammar_for(None) is None
    with pytest.raises(LLMError, match="not supported"):
        grammar_for({"type": "xml"})


def test_the_local_model_answers_with_one_of_the_enum_values() -> None:
    """Enum values are source lines for the agent's line edit: quotes and backslashes too."""
    lines = ['SYSTEM = """You fix bugs."""', 'path = "C:\\temp"', "return s"]
    fmt = json_schema_format(
        "pick",
        {
            "type": "object",
            "properties": {"line": {"type": "string", "enum": lines}},
            "required": ["line"],
            "additionalProperties": False,
        },
    )
    with Gateway(open_provider("local")) as gw:
        r = gw.client(purpose="test").chat.completions.create(
            model="local",
            temperature=0,
            response_format=fmt,
            max_tokens=64,
            messages=[{"role": "user", "content": "Which line sets the system prompt?"}],
        )
    assert json.loads(r.choices[0].message.content)["line"] in lines

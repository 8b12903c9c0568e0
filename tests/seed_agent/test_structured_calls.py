"""An agent's constrained call (a `response_format` JSON schema) goes through the real
gateway to an OpenAI-protocol upstream unchanged, from the agent's stdlib client."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from dgm.llm import Gateway, open_provider
from dgm.llm.fake_upstream import FakeUpstream
from tests.seed_agent.conftest import AGENT_SRC


def agent_llm_module() -> ModuleType:
    """The agent's own client module, loaded the way it runs: standard library only."""
    spec = importlib.util.spec_from_file_location("agent_llm_client", AGENT_SRC / "llm.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_agents_response_format_reaches_the_upstream() -> None:
    schema = {
        "type": "object",
        "properties": {
            "line": {"type": "string", "enum": ["s -= p"]},
            "new_line": {"type": "string"},
        },
        "required": ["line", "new_line"],
        "additionalProperties": False,
    }
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": "line_edit", "schema": schema, "strict": True},
    }
    llm = agent_llm_module()
    with (
        FakeUpstream() as up,
        Gateway(open_provider("openai/fake-model", api_base=up.base_url)) as gw,
    ):
        session = gw.open_session(agent_id="a1", purpose="self_modify")
        client = llm.Client(gw.socket_path, session.token, session.model)
        answer = client.chat(
            [{"role": "user", "content": "pick a line"}], response_format=fmt, temperature=0
        )
    assert answer["choices"][0]["message"]["content"] == "echo: pick a line"
    [seen] = up.requests
    assert seen["body"]["response_format"] == fmt and seen["body"]["model"] == "fake-model"

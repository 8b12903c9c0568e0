"""`scripted:FILE`: canned answers in order or by pattern, tool calls included."""

from __future__ import annotations

from pathlib import Path

import pytest

from dgm.errors import UserError
from dgm.llm import Gateway, open_provider
from tests.llm.conftest import ask, post_chat

SCRIPT = """
responses:
  - pattern: "(?i)what is 2\\\\+2"
    content: "4"
  - content: "first"
  - tool_calls:
      - {name: bash, arguments: {command: "ls -la"}}
  - "third, as a plain string"
"""


def test_in_order_by_pattern_with_tool_calls_then_exhausted(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text(SCRIPT)
    with Gateway(open_provider(f"scripted:{script}")) as gw:
        s = gw.open_session()
        answers = []
        for text in ["hello", "What is 2+2?", "next", "and then", "What is 2+2 again"]:
            status, body, _ = post_chat(gw.socket_path, s.token, ask(text))
            assert status == 200
            answers.append(body["choices"][0]["message"])
        assert [a["content"] for a in answers] == [
            "first",
            "4",
            None,
            "third, as a plain string",
            "4",
        ]
        call = answers[2]["tool_calls"][0]
        assert call["function"] == {"name": "bash", "arguments": '{"command": "ls -la"}'}
        assert call["type"] == "function" and call["id"]
        status, body, _ = post_chat(gw.socket_path, s.token, ask("more?"))
        assert status == 404 and body["error"]["type"] == "script_exhausted"


def test_json_script_as_a_plain_list(tmp_path: Path) -> None:
    script = tmp_path / "s.json"
    script.write_text('["a", {"content": "b"}]')
    with Gateway(open_provider(f"scripted:{script}")) as gw:
        client = gw.client()
        got = [
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
            .choices[0]
            .message.content
            for _ in range(2)
        ]
        assert got == ["a", "b"]


@pytest.mark.parametrize(
    "text,phrase",
    [
        ("{responses: 3}", "expected a list"),
        ("- pattern: '('\n  content: x", "invalid"),
        ("- {contnt: 1, tool_calls: 5}", "invalid"),
    ],
)
def test_bad_scripts_are_one_line_user_errors(tmp_path: Path, text: str, phrase: str) -> None:
    script = tmp_path / "bad.yaml"
    script.write_text(text)
    with pytest.raises(UserError, match=phrase) as err:
        open_provider(f"scripted:{script}")
    assert "\n" not in str(err.value)


def test_missing_script_and_unprefixed_model_are_user_errors() -> None:
    with pytest.raises(UserError, match="not found"):
        open_provider("scripted:/nonexistent/file.yaml")
    with pytest.raises(UserError, match="openai/gpt-4o"):
        open_provider("gpt-4o")

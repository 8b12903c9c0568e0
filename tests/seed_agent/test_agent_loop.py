"""The seed agent run as the harness runs it (`python -m agent`), against a real HTTP
server on a Unix socket speaking OpenAI chat-completions."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.seed_agent.conftest import reply, run_agent

PROBLEM = "`total()` in shop/cart.py returns a negative sum: total([1, 2]) gives -3, expected 3."
FIX = {"command": "str_replace", "path": "shop/cart.py", "old_str": "s -= p", "new_str": "s += p"}


def test_tool_calls_fix_the_bug_and_the_trajectory_is_the_message_list(
    tmp_path: Path, buggy_repo: Path, gateway
) -> None:
    gw = gateway(
        [
            reply(
                tool_calls=[
                    (
                        "bash",
                        {
                            "command": "python -c 'from shop.cart import total; print(total([1, 2]))'"
                        },
                    )
                ]
            ),
            reply(tool_calls=[("editor", FIX)]),
            reply(
                tool_calls=[
                    (
                        "bash",
                        {
                            "command": "python -c 'from shop.cart import total; print(total([1, 2]))'"
                        },
                    )
                ]
            ),
            reply("Fixed: total() now adds."),
        ]
    )
    proc, traj = run_agent(tmp_path, buggy_repo, gw, PROBLEM)
    assert proc.returncode == 0, proc.stderr
    assert "s += p" in (buggy_repo / "shop" / "cart.py").read_text()
    assert traj["info"]["exit_status"] == "submitted" and traj["info"]["steps"] == 4
    assert traj["info"]["tokens"] == 400
    roles = [m["role"] for m in traj["messages"]]
    assert roles == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    outputs = [m["content"] for m in traj["messages"] if m["role"] == "tool"]
    assert (
        outputs[0].endswith("-3\n")
        and outputs[2].endswith("3\n")
        and outputs[1].startswith("edited")
    )
    # the request is what the gateway expects: model, bearer token, tool specs, the whole history
    first, last = gw.requests[0], gw.requests[-1]
    assert first["model"] == "fake-model" and gw.tokens[0] == "Bearer tok-123"
    assert {t["function"]["name"] for t in first["tools"]} == {"bash", "editor"}
    assert last["messages"] == traj["messages"][:-1]
    # the file the problem names is shown up front, the repo listing too
    assert "shop/cart.py:\n```\ndef total(prices):" in first["messages"][1]["content"]


def test_text_mode_for_the_local_model(tmp_path: Path, buggy_repo: Path, gateway) -> None:
    gw = gateway(
        [
            reply(
                "I will fix it.\nshop/cart.py\n<<<<<<< SEARCH\n        s -= p\n=======\n        s += p\n>>>>>>> REPLACE\n"
            ),
            reply("Hmm."),
            reply("DONE"),
        ]
    )
    proc, traj = run_agent(tmp_path, buggy_repo, gw, PROBLEM, model="local")
    assert proc.returncode == 0, proc.stderr
    assert "tools" not in gw.requests[0]
    assert "SEARCH" in gw.requests[0]["messages"][0]["content"]
    assert "s += p" in (buggy_repo / "shop" / "cart.py").read_text()
    assert traj["info"]["tool_mode"] == "text" and traj["info"]["exit_status"] == "submitted"
    contents = [m["content"] for m in traj["messages"]]
    assert contents[3].startswith("Result of str_replace shop/cart.py:\nedited")
    assert contents[5].startswith("I found no action")  # "Hmm." got format feedback


def test_text_mode_takes_a_corrected_function_from_a_python_block(
    tmp_path: Path, buggy_repo: Path, gateway
) -> None:
    gw = gateway(
        [
            reply(
                "The bug is in total. Here is the fix:\n```python\ndef total(prices):\n    return sum(prices)\n```\n"
            ),
            reply("DONE"),
        ]
    )
    proc, traj = run_agent(tmp_path, buggy_repo, gw, PROBLEM, model="local")
    assert proc.returncode == 0, proc.stderr
    assert (
        buggy_repo / "shop" / "cart.py"
    ).read_text() == "def total(prices):\n    return sum(prices)\n"
    assert (
        traj["messages"][3]["content"]
        == "Result of your python block:\ntotal: replaced in shop/cart.py"
    )


def test_text_mode_asks_for_a_constrained_line_edit_when_nothing_changed(
    tmp_path: Path, buggy_repo: Path, gateway
) -> None:
    """A DONE before any edit gets a call under a JSON schema that admits only the shown
    files' lines; the chosen line is rewritten at its indentation."""
    gw = gateway(
        [
            reply("The total is wrong. DONE"),
            reply('{"line": "s -= p", "new_line": "s += p"}'),
            reply("DONE"),
        ]
    )
    proc, traj = run_agent(
        tmp_path, buggy_repo, gw, "The total of a cart subtracts the prices.", model="local"
    )
    assert proc.returncode == 0, proc.stderr
    assert (
        "shop/cart.py:" in gw.requests[0]["messages"][1]["content"]
    )  # shown: its words match the problem
    fmt = gw.requests[1]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert schema["required"] == ["line", "new_line"]
    assert schema["properties"]["line"]["enum"] == [
        "def total(prices):",
        "s = 0",
        "for p in prices:",
        "s -= p",
        "return s",
    ]
    assert "response_format" not in gw.requests[0] and "response_format" not in gw.requests[2]
    assert (buggy_repo / "shop" / "cart.py").read_text() == (
        "def total(prices):\n    s = 0\n    for p in prices:\n        s += p\n    return s\n"
    )
    assert (
        traj["messages"][5]["content"]
        == "Result of your line edit:\nshop/cart.py line 4 is now:         s += p"
    )
    assert traj["info"]["exit_status"] == "submitted" and traj["info"]["steps"] == 3


def test_a_python_block_that_changes_nothing_is_followed_by_a_line_edit(
    tmp_path: Path, buggy_repo: Path, gateway
) -> None:
    gw = gateway(
        [
            reply("```python\ndef add_all(prices):\n    return sum(prices)\n```"),
            reply('{"line": "s -= p", "new_line": "s += p"}'),
        ]
    )
    proc, traj = run_agent(
        tmp_path,
        buggy_repo,
        gw,
        "The total of a cart subtracts the prices.",
        "--max-steps",
        "2",
        model="local",
    )
    assert proc.returncode == 0, proc.stderr
    assert (
        "response_format" in gw.requests[1]
        and "s += p" in (buggy_repo / "shop" / "cart.py").read_text()
    )
    assert (
        traj["messages"][3]["content"]
        == "Result of your python block:\nadd_all: not defined anywhere, skipped"
    )
    assert traj["info"]["steps"] == 2 and traj["info"]["exit_status"] == "step_limit"


def test_a_line_edit_that_would_not_parse_changes_nothing(
    tmp_path: Path, buggy_repo: Path, gateway
) -> None:
    gw = gateway([reply("DONE"), reply('{"line": "for p in prices:", "new_line": "for p in"}')])
    proc, traj = run_agent(
        tmp_path, buggy_repo, gw, "The total of a cart is wrong.", "--max-steps", "2", model="local"
    )
    assert proc.returncode == 0, proc.stderr
    assert (
        "s -= p" in (buggy_repo / "shop" / "cart.py").read_text()
        and "for p in prices:" in (buggy_repo / "shop" / "cart.py").read_text()
    )
    assert "shop/cart.py would not parse with that line" in traj["messages"][-1]["content"]
    assert traj["info"]["exit_status"] == "step_limit"


def test_step_limit(tmp_path: Path, buggy_repo: Path, gateway) -> None:
    gw = gateway([reply(tool_calls=[("bash", {"command": "true"})]) for _ in range(10)])
    proc, traj = run_agent(tmp_path, buggy_repo, gw, PROBLEM, "--max-steps", "3")
    assert (
        proc.returncode == 0
        and traj["info"]["exit_status"] == "step_limit"
        and len(gw.requests) == 3
    )


def test_token_limit(tmp_path: Path, buggy_repo: Path, gateway) -> None:
    gw = gateway([reply(tool_calls=[("bash", {"command": "true"})], usage=1000) for _ in range(10)])
    proc, traj = run_agent(tmp_path, buggy_repo, gw, PROBLEM, "--max-tokens", "2500")
    assert (
        proc.returncode == 0
        and traj["info"]["exit_status"] == "token_limit"
        and len(gw.requests) == 3
    )


def test_time_limit_also_bounds_commands(tmp_path: Path, buggy_repo: Path, gateway) -> None:
    gw = gateway([reply(tool_calls=[("bash", {"command": "sleep 60"})]) for _ in range(3)])
    proc, traj = run_agent(tmp_path, buggy_repo, gw, PROBLEM, "--time-limit", "2")
    assert proc.returncode == 0 and traj["info"]["exit_status"] == "time_limit"
    assert traj["info"]["elapsed_s"] < 20 and "timed out" in traj["messages"][3]["content"]


def test_budget_refusal_ends_the_run_cleanly(tmp_path: Path, buggy_repo: Path, gateway) -> None:
    gw = gateway(
        [
            reply(tool_calls=[("editor", FIX)]),
            (429, {"error": {"type": "budget_exceeded", "message": "3 of 3 calls used"}}),
        ]
    )
    proc, traj = run_agent(tmp_path, buggy_repo, gw, PROBLEM)
    assert proc.returncode == 0 and traj["info"]["exit_status"] == "budget_exceeded"
    assert "s += p" in (buggy_repo / "shop" / "cart.py").read_text()


def test_bad_tool_arguments_are_fed_back(tmp_path: Path, buggy_repo: Path, gateway) -> None:
    bad = reply(tool_calls=[("editor", {})])
    bad[1]["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = "{not json"
    gw = gateway([bad, reply(tool_calls=[("nope", {})]), reply("giving up")])
    proc, traj = run_agent(tmp_path, buggy_repo, gw, PROBLEM)
    tool_msgs = [m["content"] for m in traj["messages"] if m["role"] == "tool"]
    assert "not valid JSON" in tool_msgs[0] and "no tool 'nope'" in tool_msgs[1]
    assert proc.returncode == 0


def test_missing_socket_is_a_clear_error(tmp_path: Path, buggy_repo: Path, gateway) -> None:
    gw = gateway([])
    gw.path = tmp_path / "nowhere.sock"
    proc, traj = run_agent(tmp_path, buggy_repo, gw, PROBLEM)
    assert proc.returncode == 0 and traj["info"]["exit_status"].startswith("llm_error: connection")
    assert (
        subprocess.run(
            ["git", "status", "--porcelain"], cwd=buggy_repo, capture_output=True, text=True
        ).stdout
        == ""
    )

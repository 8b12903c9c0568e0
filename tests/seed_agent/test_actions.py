"""The text action format (for models without tool calls)."""

from __future__ import annotations

from dgm.seed_agent.actions import parse_text_actions, says_done


def test_bash_and_edit_blocks_in_order() -> None:
    reply = """Let me look first.
```bash
cat shop/cart.py
```
Then fix it:
shop/cart.py
<<<<<<< SEARCH
        s -= p
=======
        s += p
>>>>>>> REPLACE
and test:
```sh
python -m pytest -q
```
"""
    actions = parse_text_actions(reply)
    assert [a.tool for a in actions] == ["bash", "editor", "bash"]
    assert actions[0].args == {"command": "cat shop/cart.py"}
    assert actions[1].args == {
        "command": "str_replace",
        "path": "shop/cart.py",
        "old_str": "        s -= p\n",
        "new_str": "        s += p\n",
    }
    assert actions[2].args == {"command": "python -m pytest -q"}


def test_aider_style_fenced_edit_and_file_creation() -> None:
    reply = "`pkg/new.py`\n```python\n<<<<<<< SEARCH\n=======\nX = 1\n>>>>>>> REPLACE\n```\n"
    (action,) = parse_text_actions(reply)
    assert action.args == {"command": "create", "path": "pkg/new.py", "file_text": "X = 1\n"}


def test_edit_without_path_is_reported() -> None:
    (action,) = parse_text_actions("Here:\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n")
    assert action.tool == "error" and "path" in action.args["message"]


def test_plain_text_has_no_action_and_done_is_recognised() -> None:
    assert parse_text_actions("I think the bug is in cart.py.") == []
    assert parse_text_actions("```python\nprint(1)\n```") == []  # python blocks are not commands
    assert says_done("Fixed it.\nDONE\n") and says_done("**DONE**")
    assert not says_done("I am not done yet") and not says_done("")

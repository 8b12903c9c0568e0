"""What the agent tells the model. Two dialects: tool calls, and plain text actions."""

from __future__ import annotations

SYSTEM_TOOLS = """You are a careful software engineer fixing an issue in a Python repository.
The repository is checked out at {repo} (the current directory of every command).
Use the tools: `bash` to explore and run commands (each call is a fresh shell), `editor` to
view files with line numbers and to make exact edits.

Work like this: find the relevant code, reproduce the problem if you can, make the smallest
change that fixes it in the source code (not in the tests), run the existing tests, and
check your change. When you are finished, reply with a short summary and no tool call."""

SYSTEM_TEXT = """You fix bugs in a Python repository at {repo}.
You act by writing actions in your reply.

To fix a function, write the whole corrected function:
```python
def name(...):
    <corrected body>
```

To run a shell command, write:
```bash
<command>
```

To change a file, write the file path, then the exact old lines and the new lines:
path/to/file.py
<<<<<<< SEARCH
<old lines, copied exactly>
=======
<new lines>
>>>>>>> REPLACE

When the bug is fixed, write DONE on its own line."""

TASK = """Fix this issue:

{problem}

Files in the repository:
{files}
{shown}"""

SHOWN_FILE = """
{path}:
```
{content}
```
"""

FORMAT_ERROR = """I found no action in your reply. Write the corrected function in a ```python
block, run a command in a ```bash block, change a file with a SEARCH/REPLACE block (path on
the line before <<<<<<< SEARCH), or write DONE on its own line if the issue is fixed."""

OBSERVATION = "Result of {what}:\n{output}"

LINE_EDIT = """No file has changed yet. Choose the one line of the files shown above that most
needs to change for this issue, and write its new version. Answer with JSON: the line as it
is now, and the new line."""

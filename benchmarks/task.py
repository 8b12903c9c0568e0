"""The task contract: SWE-bench's field names and meanings, plus what a shipped task
needs to be built offline.

A SWE-bench task is graded by checking out `repo` at `base_commit`, applying the model's
patch (changes to test files dropped), then `test_patch`, running the tests, and calling it
resolved iff every FAIL_TO_PASS and every PASS_TO_PASS test passes; a test missing from
the log counts as failed.

A *shipped* task (swe-mini) carries its repository instead of a commit on GitHub: a clean
source tree in the suite's `repos/<name>/` folder, plus `bug_diff`, a diff that puts the bug
in. The task's repository is that tree with the bug applied, committed as the only commit
of a fresh git repository with a fixed author and date (so `base_commit` is reproducible,
and history cannot leak the answer). The hidden tests (`test_patch`) are never in it.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Task(BaseModel):
    """One benchmark instance, SWE-bench style."""

    instance_id: str = Field(description="Unique id, e.g. 'inventory__inventory-7'.")
    repo: str = Field(
        description="Repository name ('owner/name' for SWE-bench, a folder name for shipped suites)."
    )
    base_commit: str = Field(
        description="Commit the agent starts from (for shipped tasks: the hash of the one-commit repo)."
    )
    problem_statement: str = Field(description="What the agent is told, as an issue text.")
    patch: str = Field(
        description="Gold patch: a unified diff that resolves the task (non-test files only)."
    )
    test_patch: str = Field(
        description="Diff adding/changing the tests that check the fix; hidden from the agent."
    )
    FAIL_TO_PASS: list[str] = Field(
        description="Test ids that fail before the gold patch and must pass after it."
    )
    PASS_TO_PASS: list[str] = Field(
        description="Test ids that pass before and must still pass after."
    )
    version: str = Field(default="1.0", description="SWE-bench's environment version key.")
    environment_setup_commit: str | None = Field(
        default=None, description="SWE-bench: commit used to set up the environment."
    )
    created_at: str | None = Field(default=None, description="SWE-bench: when the issue was filed.")
    hints_text: str = Field(
        default="",
        description="SWE-bench: discussion before the fix (not shown to agents by default).",
    )
    # Offline build (shipped tasks only).
    bug_diff: str | None = Field(
        default=None,
        description="Shipped tasks: diff applied to the clean tree in repos/<repo>/ to create the bug.",
    )
    test_cmd: str = Field(
        default="python -m pytest -rA -p no:cacheprovider",
        description="Command run in the repo root to produce the test log; test files to run are appended.",
    )
    test_files: list[str] = Field(
        default_factory=list,
        description="Test files to run (relative to the repo root); empty means the whole suite.",
    )
    difficulty: str = Field(
        default="medium",
        description="'easy' (one line, precise statement) ... 'hard' (multi-file, vague).",
    )

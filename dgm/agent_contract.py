"""The agent contract, as code: how the harness runs an agent and what it takes back.

Written out for agent authors in dgm/seed_agent/__init__.py (and docs/agent-contract.md);
this module is the one place the harness's side of it lives: the command, the environment,
which files are an agent's, and which files of /testbed are never part of its answer.
Both the evaluator (an agent on a task) and self-modification (an agent on its own code)
use it, so the two runs can never drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sandbox.folders import read_folder

AGENT_CMD = [
    "python3",
    "-m",
    "agent",
    "--repo",
    "/testbed",
    "--problem",
    "/task/problem.md",
    "--out",
    "/out",
]
# Never part of an agent's answer: caches and the debris of failed patch tools.
DIFF_EXCLUDES = [
    "__pycache__/**",
    "*.pyc",
    ".pytest_cache/**",
    "*.egg-info/**",
    ".mypy_cache/**",
    "*.orig",
    "*.rej",
]
# Never part of an agent: git metadata, caches, bytecode.
IGNORED_AGENT_PARTS = {".git", "__pycache__", ".pytest_cache", ".mypy_cache"}
SETUP_DIR = "/tmp/dgm-harness"


def is_agent_file(path: str) -> bool:
    """Whether a file (relative path) belongs to an agent's code."""
    return not IGNORED_AGENT_PARTS & set(path.split("/")) and not path.endswith(".pyc")


def agent_files(agent: Path | Mapping[str, bytes]) -> dict[str, bytes]:
    """An agent's files from a directory (caches left out) or as given. Raises ValueError
    (sandbox.folders.FolderError) for a folder that is no agent, holds a link, or is too big."""
    if not isinstance(agent, Path):
        return dict(agent)
    if not (agent / "__main__.py").is_file():
        raise ValueError(
            f"{agent} is not an agent: it has no __main__.py (an agent is a package run as `python -m agent`)"
        )
    # links refused (a link to /proc/self/environ would carry dgm's keys into the archive)
    return read_folder(agent, "agent folder", keep=is_agent_file)


def agent_env(
    session_env: Mapping[str, str],
    timeout_s: float,
    max_steps: int | None = None,
    max_tokens: int | None = None,
) -> dict[str, str]:
    """The environment an agent runs in: the gateway session's variables and its limits."""
    env = {
        **session_env,
        "PYTHONPATH": "/",
        "PYTHONDONTWRITEBYTECODE": "1",
        "DGM_AGENT_TIME_LIMIT": str(max(10.0, timeout_s - 30)),
    }
    if max_steps:
        env["DGM_AGENT_MAX_STEPS"] = str(max_steps)
    if max_tokens:
        env["DGM_AGENT_MAX_TOKENS"] = str(max_tokens)
    return env


def setup_script(has_previous: bool) -> str:
    """Record the base commit; on a later try, first re-apply the previous try's diff."""
    apply = f" && git apply --whitespace=nowarn {SETUP_DIR}/previous.patch" if has_previous else ""
    return f"mkdir -p {SETUP_DIR} && cd /testbed && git rev-parse HEAD > {SETUP_DIR}/base{apply}"


def diff_script() -> str:
    """The agent's answer: the diff of /testbed against its base, caches excluded."""
    excludes = " ".join(f"':(exclude,glob)**/{g}' ':(exclude,glob){g}'" for g in DIFF_EXCLUDES)
    # core.fsmonitor/hooksPath are forced off: whatever the agent did to .git, these
    # commands run only git itself (and only inside the sandbox anyway).
    git = "git -c core.fsmonitor= -c core.hooksPath=/dev/null"
    return (
        f"cd /testbed && {git} add -A -- . {excludes} >/dev/null 2>&1; "
        f'{git} diff --cached --binary "$(cat {SETUP_DIR}/base)" -- . {excludes}'
    )

"""The agent contract, as code: how the harness runs an agent and what it takes back.

Written out for agent authors in dgm/seed_agent/__init__.py (and docs/agent-contract.md);
this module is the one place the harness's side of it lives: the command, the environment,
which files are an agent's, and which files of /testbed are never part of its answer.
Both the evaluator (an agent on a task) and self-modification (an agent on its own code)
use it, so the two runs can never drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dgm import agent_format
from sandbox.folders import Folder

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
    if not (agent / "__main__.py").is_file() and not (agent / agent_format.ENTRY).is_file():
        raise ValueError(
            f"{agent} is not an agent: it has no __main__.py (an agent is a package run as "
            f"`python -m agent`) and no {agent_format.ENTRY} (DGM's format)"
        )
    # links refused (a link to /proc/self/environ would carry dgm's keys into the archive)
    files = Folder(agent, "agent folder", keep=is_agent_file).read()
    if agent_format.kind_of(files) is None:
        raise ValueError(
            f"{agent}/{agent_format.ENTRY} does not take DGM's options "
            f"({' '.join(agent_format.OPTIONS)}): it is not an agent in DGM's format"
        )
    return files


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


@dataclass(frozen=True)
class Launch:
    """How the harness starts one agent run: its command, environment, the harness files
    it puts in SETUP_DIR first, and where the run's trajectory is left."""

    command: list[str]
    env: dict[str, str]
    trajectory: str
    files: dict[str, bytes] = field(default_factory=dict)


def launch(
    files: Mapping[str, bytes],
    session_env: Mapping[str, str],
    timeout_s: float,
    max_steps: int | None = None,
    max_tokens: int | None = None,
    self_improve: bool = False,
) -> Launch:
    """The launch of an agent in dgm's contract, or in DGM's format (dgm/agent_format.py:
    its CLI behind a loopback port to the gateway, the SDKs' keys set to the session's token).
    `self_improve`: the agent works on its own code (DGM's --self_improve)."""
    env = agent_env(session_env, timeout_s, max_steps, max_tokens)
    if agent_format.kind_of(files) != "dgm":
        return Launch(AGENT_CMD, env, "/out/trajectory.json")
    del env["PYTHONPATH"]  # DGM's agent imports its modules from its own folder
    return Launch(
        agent_format.command(SETUP_DIR, self_improve),
        {**env, **agent_format.env(session_env)},
        agent_format.CHAT_HISTORY,
        agent_format.harness_files(),
    )


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

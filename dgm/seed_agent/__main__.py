"""`python -m agent --repo /testbed --problem /task/problem.md --out /out` (see __init__)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .agent import Agent, Limits
from .llm import Client, LLMError

TEXT_REPLY_TOKENS = 200


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="agent", description="The dgm seed coding agent.")
    p.add_argument(
        "--repo", type=Path, required=True, help="the repository to fix (a git work tree)"
    )
    p.add_argument("--problem", type=Path, required=True, help="the problem statement (markdown)")
    p.add_argument("--out", type=Path, required=True, help="where trajectory.json goes")
    p.add_argument("--max-steps", type=int, default=int(_env("DGM_AGENT_MAX_STEPS", "30")))
    p.add_argument("--max-tokens", type=int, default=int(_env("DGM_AGENT_MAX_TOKENS", "400000")))
    p.add_argument(
        "--time-limit",
        type=float,
        default=float(_env("DGM_AGENT_TIME_LIMIT", "1800")),
        help="seconds",
    )
    p.add_argument(
        "--cmd-timeout",
        type=float,
        default=float(_env("DGM_AGENT_CMD_TIMEOUT", "120")),
        help="seconds per bash command",
    )
    p.add_argument(
        "--tool-mode",
        choices=["auto", "tools", "text"],
        default=_env("DGM_AGENT_TOOL_MODE", "auto"),
        help="tools: OpenAI tool calls; text: ```bash and SEARCH/REPLACE blocks; auto: text for the local model",
    )
    p.add_argument("--temperature", type=float, default=float(_env("DGM_AGENT_TEMPERATURE", "0")))
    p.add_argument(
        "--max-reply-tokens",
        type=int,
        default=int(_env("DGM_AGENT_MAX_REPLY_TOKENS", "0")) or None,
        help=f"longest reply; in text mode {TEXT_REPLY_TOKENS} unless given (a fix is a few lines, rambling is slow)",
    )
    return p.parse_args(argv)


def tool_mode_for(mode: str, model: str) -> str:
    """`auto`: plain text for small local models that were never taught tool calls."""
    if mode != "auto":
        return mode
    return "text" if model == "local" or "smollm" in model.lower() else "tools"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        problem = args.problem.read_text()
    except OSError as e:
        print(f"agent: cannot read the problem statement {args.problem}: {e}", file=sys.stderr)
        return 2
    if not args.repo.is_dir():
        print(f"agent: --repo {args.repo} is not a directory", file=sys.stderr)
        return 2
    try:
        client = Client.from_env()
    except LLMError as e:
        print(f"agent: {e}", file=sys.stderr)
        return 2
    limits = Limits(args.max_steps, args.max_tokens, args.time_limit, args.cmd_timeout)
    mode = tool_mode_for(args.tool_mode, client.model)
    reply_tokens = args.max_reply_tokens or (TEXT_REPLY_TOKENS if mode == "text" else None)
    agent = Agent(
        client, args.repo.resolve(), args.out, limits, mode, args.temperature, reply_tokens
    )
    info = agent.run(problem)
    print(
        f"agent: {info['exit_status']} after {info['steps']} steps, {info['tokens']} tokens, {info['elapsed_s']}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

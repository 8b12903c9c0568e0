"""A coding agent in DGM's format, for dgm's tests: the command line, output files and
SDK use of DGM's initial agent (written for these tests; no line of DGM's is here).

It solves a task with Anthropic's Messages API and tool_use blocks, and improves itself
(--self_improve) with OpenAI's chat completions and tool_calls, so one run crosses both
wire formats. Either way the diff against --base_commit lands in OUTDIR/model_patch.diff.
"""

import argparse
import os
import subprocess

from llm_withtools import CLAUDE_MODEL, OPENAI_MODEL, chat_with_agent


def diff_versus_commit(git_dir, commit):
    subprocess.run(["git", "-C", git_dir, "add", "-N", "."], check=False)
    result = subprocess.run(["git", "-C", git_dir, "diff", commit], capture_output=True, text=True)
    return result.stdout


def main():
    parser = argparse.ArgumentParser(description="A coding agent in DGM's format.")
    parser.add_argument("--problem_statement", required=True)
    parser.add_argument("--git_dir", required=True)
    parser.add_argument("--base_commit", required=True)
    parser.add_argument("--chat_history_file", required=True)
    parser.add_argument("--outdir", required=False, default="/dgm/")
    parser.add_argument("--test_description", default=None)
    parser.add_argument("--self_improve", default=False, action="store_true")
    parser.add_argument("--instance_id", default=None)
    args = parser.parse_args()

    os.makedirs(os.path.dirname(args.chat_history_file), exist_ok=True)
    with open(args.chat_history_file, "w") as log:
        instruction = (
            f"I have uploaded a Python code repository in the directory {args.git_dir}. "
            f"Help solve the following problem.\n\n<problem_description>\n"
            f"{args.problem_statement}\n</problem_description>\n"
        )
        model = OPENAI_MODEL if args.self_improve else CLAUDE_MODEL
        chat_with_agent(instruction, model, args.git_dir, lambda text: log.write(f"{text}\n\n"))

    patch = diff_versus_commit(args.git_dir, args.base_commit)
    with open(os.path.join(args.outdir, "model_patch.diff"), "w") as f:
        f.write(patch)


if __name__ == "__main__":
    main()

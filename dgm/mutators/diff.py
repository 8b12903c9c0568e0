"""`--operator diff`: the LLM edits the parent's code directly with SEARCH/REPLACE blocks.

The prompt shows the code and one failure of the parent (chosen by DGM's rules). Blocks
are applied strictly (see `search_replace`); when any block does not apply, the exact
reasons go back to the LLM, up to `max_tries` answers. Never silently skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from dgm.mutators import Mutation, MutationContext
from dgm.mutators.diagnosis import clip, code_listing
from dgm.mutators.focus import FOCUS_TEXT, choose_focus
from dgm.mutators.search_replace import FORMAT_HELP, apply_blocks, parse_blocks


@dataclass
class DiffMutator:
    max_tries: int = 3
    max_chars: int = 16000
    name: str = "diff"

    def prompt(self, ctx: MutationContext) -> tuple[str, dict]:
        focus = choose_focus(ctx.evaluations, ctx.rng)
        parts = [
            "You are improving a coding agent that solves GitHub issues. "
            "It is run as `python -m agent --repo REPO --problem FILE --out DIR`; keep that working.",
            f"# Its code\n{code_listing(ctx.files, self.max_chars // 2)}",
        ]
        origin: dict = {"focus": None}
        if focus is not None:
            origin["focus"] = {"kind": focus.kind, "task_id": focus.task_id}
            parts.append(f"# What to improve\n{FOCUS_TEXT[focus.kind]}")
            ev = next((e for e in ctx.evaluations if e.task_id == focus.task_id), None)
            if focus.task_id and ev is not None:
                problem = ctx.problem_statements.get(focus.task_id, "")
                parts += [
                    f"# The issue ({focus.task_id})\n{clip(problem, self.max_chars // 8)}",
                    f"# The agent's log\n{clip(ev.trajectory, self.max_chars // 8)}",
                    f"# Test results\n{clip(ev.test_report, self.max_chars // 16) or '(none)'}",
                ]
        else:
            parts.append("# What to improve\nMake the agent more capable and more reliable.")
        parts.append("Change the agent's code to fix this. " + FORMAT_HELP)
        return "\n\n".join(parts), origin

    def mutate(self, ctx: MutationContext) -> Mutation:
        text, origin = self.prompt(ctx)
        messages = [{"role": "user", "content": text}]
        tries: list[dict] = []
        for attempt in range(1, self.max_tries + 1):
            answer = ctx.chat.complete(messages, purpose="mutate", agent_id=ctx.parent_id)
            files, errors = apply_blocks(ctx.files, parse_blocks(answer))
            tries.append({"attempt": attempt, "errors": errors})
            if files is not None:
                return Mutation(files, {**origin, "operator": self.name, "tries": tries})
            feedback = "These edits were NOT applied (nothing was changed):\n- " + "\n- ".join(
                errors
            )
            messages += [
                {"role": "assistant", "content": answer},
                {
                    "role": "user",
                    "content": feedback
                    + "\nSend corrected SEARCH/REPLACE blocks for all your edits.",
                },
            ]
        reason = f"no applicable SEARCH/REPLACE edit after {self.max_tries} tries: {tries[-1]['errors'][0]}"
        return Mutation(None, {**origin, "operator": self.name, "tries": tries}, reason)

"""`--operator diff`: the LLM edits the parent's code directly with SEARCH/REPLACE blocks.

The prompt speaks of the run's target. For coding agents on a suite: the agent's code and
one failure of the parent (chosen by DGM's rules). For a problem's program (`--problem`):
the problem's statement, the program's files, its score and the feedback of its last
evaluation, in the evaluator's own words. Blocks are applied strictly (see
`search_replace`); when any block does not apply, the exact reasons go back to the LLM, up
to `max_tries` answers. Never silently skipped.

The operator samples at its own temperature (`diff_temperature`, above 0 by default), not
the engine's 0: the gateway answers a temperature-0 request it has seen from its cache, so
a parent chosen twice would get the same edit twice, a duplicate child rejected unscored.
Sampled requests are never cached, and two children of one parent may differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dgm.mutators import Chat, Mutation, MutationContext
from dgm.mutators.diagnosis import clip, code_listing
from dgm.mutators.focus import FOCUS_TEXT, choose_focus
from dgm.mutators.line_edit import evaluation_parts, last_evaluation
from dgm.mutators.search_replace import FORMAT_HELP, apply_blocks, parse_blocks


def program_listing(files: Mapping[str, bytes], limit: int) -> str:
    """Every file of a problem's program (in any language), clipped to `limit`."""
    parts = [f"### {path}\n{files[path].decode(errors='replace')}" for path in sorted(files)]
    return clip("\n\n".join(parts), limit)


@dataclass
class DiffMutator:
    """The `diff` operator. `chat`: its sampling chat (None: the engine's); `direction`: a
    problem's ('min' or 'max') when the run evolves a problem's program, None for agents."""

    max_tries: int = 3
    max_chars: int = 16000
    chat: Chat | None = None
    direction: str | None = None
    name: str = "diff"

    def prompt(self, ctx: MutationContext) -> tuple[str, dict]:
        if self.direction is not None:
            return self.program_prompt(ctx), {"focus": None}
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

    def program_prompt(self, ctx: MutationContext) -> str:
        """A problem's program: what it is for, its code, its score and its feedback."""
        share = self.max_chars // 8
        statement = "\n\n".join(ctx.problem_statements.values())
        parts = [
            "You are improving a program. An evaluator runs it and scores it; keep what the "
            "evaluator calls working.",
            f"# The problem\n{clip(statement, share) or '(no description)'}",
            f"# Its code\n{program_listing(ctx.files, self.max_chars // 2)}",
        ]
        ev = last_evaluation(ctx.evaluations, ctx.rng)
        parts += evaluation_parts(ctx.evaluations, self.direction, ev, share)
        parts.append("Change the program's code so that its score gets better. " + FORMAT_HELP)
        return "\n\n".join(parts)

    def mutate(self, ctx: MutationContext) -> Mutation:
        text, origin = self.prompt(ctx)
        messages = [{"role": "user", "content": text}]
        tries: list[dict] = []
        for attempt in range(1, self.max_tries + 1):
            chat = self.chat or ctx.chat
            answer = chat.complete(messages, purpose="mutate", agent_id=ctx.parent_id)
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

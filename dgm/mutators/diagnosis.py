"""The LLM's diagnosis of a failure, as a validated proposal (DGM's diagnose step).

The prompt shows the agent's code, the chosen failure (problem statement, the agent's
trajectory, its patch, the test results) and asks for one JSON object with DGM's fields,
under `PROPOSAL_SCHEMA` (sent as the request's `response_format`, so a model that supports
structured outputs, the bundled one included, can only answer with such an object).
A malformed answer is still sent back with the exact validation error, up to `retries`
tries: not every hosted model honours a schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from dgm.mutators import Chat, EvalView
from dgm.mutators.focus import FOCUS_TEXT, Focus


class Proposal(BaseModel):
    """DGM's diagnosis fields."""

    log_summarization: str = Field(
        description="How the agent tried to solve the task, and where it went wrong."
    )
    potential_improvements: list[str] | str = Field(
        description="General improvements to the agent that could help."
    )
    improvement_proposal: str = Field(min_length=1, description="The one improvement to make now.")
    implementation_suggestion: str = Field(
        min_length=1, description="How to implement it in the agent's code."
    )
    problem_description: str = Field(
        min_length=1, description="The improvement phrased as a GitHub issue for the agent."
    )


class DiagnosisFailed(Exception):
    """No valid proposal after all tries; the message holds the last reason."""


FIELDS_HELP = "\n".join(f'- "{name}": {f.description}' for name, f in Proposal.model_fields.items())


def _proposal_schema() -> dict[str, Any]:
    """Proposal as a JSON schema in the subset every structured-output API accepts (all
    fields required, no extra ones, no length keywords): a list of improvements, the rest text."""
    properties: dict[str, Any] = {
        name: {"type": "string", "description": f.description}
        for name, f in Proposal.model_fields.items()
    }
    properties["potential_improvements"] = {
        "type": "array",
        "items": {"type": "string"},
        "description": Proposal.model_fields["potential_improvements"].description,
    }
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


PROPOSAL_SCHEMA = _proposal_schema()


def clip(text: str, limit: int) -> str:
    """Head and tail of `text`, at most about `limit` characters."""
    if len(text) <= limit:
        return text
    half = max(limit // 2 - 20, 0)
    return f"{text[:half]}\n... [{len(text) - 2 * half} characters cut] ...\n{text[-half:]}"


def code_listing(files: Mapping[str, bytes], limit: int) -> str:
    parts = []
    for path in sorted(files):
        if path.endswith((".py", ".md", ".txt", ".toml", ".yaml")):
            parts.append(f"### {path}\n{files[path].decode(errors='replace')}")
    return clip("\n\n".join(parts), limit)


def diagnosis_prompt(
    files: Mapping[str, bytes],
    focus: Focus,
    evaluation: EvalView | None,
    problem: str,
    max_chars: int,
) -> str:
    share = max_chars // 4
    sections = [
        "You are improving a coding agent that solves GitHub issues. Here is its code.",
        f"# Coding agent implementation\n{code_listing(files, 2 * share)}",
        f"# What to look at\n{FOCUS_TEXT[focus.kind]}",
    ]
    if evaluation is not None:
        sections += [
            f"# The issue the agent worked on\n{clip(problem, share // 3)}",
            f"# The agent's log\n{clip(evaluation.trajectory, share)}",
            f"# The agent's patch\n{clip(evaluation.patch, share // 3) or '(empty)'}",
            f"# Test results\n{clip(evaluation.test_report, share // 3) or '(none)'}",
        ]
    sections.append("Answer with one JSON object with these fields:\n" + FIELDS_HELP)
    return "\n\n".join(sections)


def parse_proposal(text: str) -> Proposal:
    """The proposal in `text`, or ValueError/ValidationError saying exactly what is wrong."""
    fenced = re.search(r"```(?:json)?\s*(\{.*\})\s*```", text, re.DOTALL)
    if fenced:
        raw = fenced.group(1)
    else:
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            raise ValueError("no JSON object found; put it between ```json and ``` markers")
        raw = text[start : end + 1]
    try:
        data = json.loads(raw, strict=False)  # a raw newline inside a string is no reason to refuse
    except json.JSONDecodeError as e:
        raise ValueError(f"the JSON does not parse: {e}") from None
    return Proposal.model_validate(data)


def diagnose(
    chat: Chat,
    files: Mapping[str, bytes],
    focus: Focus,
    evaluation: EvalView | None,
    problem: str,
    *,
    agent_id: str,
    retries: int,
    max_chars: int,
) -> tuple[Proposal, int]:
    """A valid proposal and the number of tries it took; DiagnosisFailed otherwise."""
    messages = [
        {"role": "user", "content": diagnosis_prompt(files, focus, evaluation, problem, max_chars)}
    ]
    reason = "no answer"
    for attempt in range(1, retries + 1):
        answer = chat.complete(
            messages, purpose="diagnose", agent_id=agent_id, schema=PROPOSAL_SCHEMA
        )
        try:
            return parse_proposal(answer), attempt
        except (ValueError, ValidationError) as e:
            reason = (
                str(e).splitlines()[0] if not isinstance(e, ValidationError) else _first_error(e)
            )
            messages += [
                {"role": "assistant", "content": answer},
                {
                    "role": "user",
                    "content": f"That answer could not be used: {reason}. Answer again with only the JSON object.",
                },
            ]
    raise DiagnosisFailed(f"no valid diagnosis after {retries} tries: {reason}")


def _first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "the object"
    return f"field {where!r}: {err['msg']}"


def self_improvement_problem(proposal: Proposal) -> str:
    """The problem statement the parent agent gets for editing its own code."""
    return (
        "# Improve this coding agent\n\n"
        "The repository in front of you is the source code of a coding agent. It is run as\n"
        "`python -m agent --repo REPO --problem PROBLEM_FILE --out OUT_DIR`; that interface must\n"
        "keep working, and the code must stay standard-library only.\n\n"
        f"## Problem\n{proposal.problem_description}\n\n"
        f"## What to implement\n{proposal.implementation_suggestion}\n"
    )

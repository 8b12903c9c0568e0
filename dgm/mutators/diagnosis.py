"""The LLM's diagnosis of a failure, as a validated proposal (DGM's diagnose step).

The prompt holds what DGM's does (prompts/self_improvement_prompt.py:305-336): as the
system message, a summary of the coding agent, its whole code and the patches of its
lineage (seed to parent); as the user message, for an unresolved task, the agent's log,
the issue, its predicted patch, the hidden test patch and the test results (the
FAIL_TO_PASS and PASS_TO_PASS tests, passed or failed); for DGM's other cases (empty
patches, stochasticity, context length), DGM's advice without a task. Under DGM's polyglot
rules (`Focus.polyglot`) every focus names a task: its advice comes with that task's log,
and the task prompt opens with DGM's polyglot words (self_improvement_prompt.py:360-368).
Nothing is clipped
while the whole prompt fits `max_chars` (the run's `prompt_chars`: set it to the model's
context); past that, `fit` clips in a fixed order, head and tail kept: the log first, then
the test results, the predicted patch, the lineage's patches, the code, and the issue and
the test patch last. It asks for one JSON object with DGM's fields,
under `PROPOSAL_SCHEMA` (sent as the request's `response_format`, so a model that supports
structured outputs, the bundled one included, can only answer with such an object).
A malformed answer is still sent back with the exact validation error, up to `retries`
tries: not every hosted model honours a schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError

from dgm.mutators import Chat, EvalView
from dgm.mutators.focus import FOCUS_TEXT, POLYGLOT_TEXT, Focus

if TYPE_CHECKING:
    from benchmarks.task import Task

# What the diagnosing model is told of the agent, in the place of DGM's summary of its own
# agent (prompts/self_improvement_prompt.py:6-27), with DGM's advice.
AGENT_SUMMARY = """# Coding agent summary
- The agent is a Python package run as `python -m agent --repo REPO --problem PROBLEM_FILE --out OUT_DIR`; that interface must keep working.
- Standard library only; it reaches its language model only through the gateway its environment names.
- Its tools and prompts must work for any repository: nothing specific to one repository, framework or path.
- Do not use `while True` loops: an agent that gets stuck is killed at its deadline and scores nothing.
- Check how a helper function is implemented before using it.
"""


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
    tail = text[-half:] if half else ""  # text[-0:] would be all of it
    return f"{text[:half]}\n... [{len(text) - 2 * half} characters cut] ...\n{tail}"


def code_listing(files: Mapping[str, bytes], limit: int) -> str:
    parts = []
    for path in sorted(files):
        if path.endswith((".py", ".md", ".txt", ".toml", ".yaml")):
            parts.append(f"### {path}\n{files[path].decode(errors='replace')}")
    return clip("\n\n".join(parts), limit)


# The order `fit` clips a prompt's parts in when it is too long (module docstring).
CLIP_ORDER = ("log", "results", "predicted", "lineage", "code", "issue", "test_patch")


def fit(parts: dict[str, str], max_chars: int) -> dict[str, str]:
    """`parts` clipped in CLIP_ORDER until their total fits `max_chars` (untouched if it does)."""
    out = dict(parts)
    for name in CLIP_ORDER:
        over = sum(map(len, out.values())) - max_chars
        if over <= 0:
            break
        if name in out:
            out[name] = clip(out[name], max(len(out[name]) - over, 0))
    return out


def all_code(files: Mapping[str, bytes]) -> str:
    """Every text file of the agent, whole."""
    return "\n\n".join(
        f"### {path}\n{files[path].decode(errors='replace')}"
        for path in sorted(files)
        if path.endswith((".py", ".md", ".txt", ".toml", ".yaml", ".json", ".cfg"))
    )


def test_results(report: str, task: Task | None) -> str:
    """Which FAIL_TO_PASS and PASS_TO_PASS tests passed and failed (DGM's
    get_eval_log_text), from the evaluation's per-test statuses; the raw report when it
    holds none."""
    try:
        statuses = json.loads(report) if report else {}
    except json.JSONDecodeError:
        statuses = None
    if task is None or not isinstance(statuses, dict):
        return report or "No test results: assume every test failed."

    def passed(test: str) -> bool:
        return str(statuses.get(test, "")).upper() in ("PASSED", "PASS", "XFAIL")

    lines = ["## Tests for the issue (FAIL_TO_PASS)"]
    lines += [f"  {'✓' if passed(t) else '✗'} {t}" for t in task.FAIL_TO_PASS]
    lines.append("## Tests that passed before (PASS_TO_PASS)")
    lines += [f"  {'✓' if passed(t) else '✗'} {t}" for t in task.PASS_TO_PASS]
    return "\n".join(lines)


def diagnosis_messages(
    files: Mapping[str, bytes],
    focus: Focus,
    evaluation: EvalView | None,
    problem: str,
    max_chars: int,
    task: Task | None = None,
    lineage: Sequence[str] = (),
) -> list[dict[str, str]]:
    """The system and user messages of a diagnosis (module docstring)."""
    parts = {
        "code": all_code(files),
        "lineage": "\n\n".join(f"# Patch {i}\n{p}" for i, p in enumerate(lineage, 1)),
    }
    whole_task = focus.kind in ("unresolved", "resolved") and evaluation is not None
    if evaluation is not None and focus.task_id is not None:
        parts["log"] = evaluation.trajectory or "No log available."
    if whole_task and evaluation is not None:
        parts |= {
            "issue": problem,
            "predicted": evaluation.patch or "No predicted patch: the agent changed nothing.",
            "test_patch": task.test_patch if task else "(not available)",
            "results": test_results(evaluation.test_report, task),
        }
    p = fit(parts, max_chars)
    system = (
        f"{AGENT_SUMMARY}\nHere is the implementation of the coding agent.\n\n"
        f"# Coding agent implementation\n{p['code']}\n\n"
        + (f"# Patches of its lineage, seed to this agent\n{p['lineage']}\n\n" if lineage else "")
        + "Your task: find ONE detailed plan that would improve the agent's coding ability "
        "in general, not for one particular issue or repository."
    )
    texts = POLYGLOT_TEXT if focus.polyglot else FOCUS_TEXT
    if whole_task:
        user = (
            f"{texts[focus.kind]}\n\n# Agent log\n{p['log']}\n\n"
            f"# GitHub issue\n{p['issue']}\n\n# Predicted patch\n{p['predicted']}\n\n"
            "# Hidden test patch\nThe official tests that decide whether the issue is "
            f"solved; the agent never saw them.\n{p['test_patch']}\n\n"
            f"# Test results\n{p['results']}"
        )
    elif "log" in p:  # DGM's polyglot advice, with the task's log
        user = f"{texts[focus.kind]}\n\n# Agent log\n{p['log']}"
    else:
        user = texts[focus.kind]
    user += "\n\nAnswer with one JSON object with these fields:\n" + FIELDS_HELP
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


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
    task: Task | None = None,
    lineage: Sequence[str] = (),
) -> tuple[Proposal, int]:
    """A valid proposal and the number of tries it took; DiagnosisFailed otherwise."""
    messages = diagnosis_messages(files, focus, evaluation, problem, max_chars, task, lineage)
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
    """The problem statement the parent agent gets for editing its own code: as DGM's, the
    agent summary and then the proposal (prompts/self_improvement_prompt.py:174-181)."""
    return (
        "# Improve this coding agent\n\n"
        "The repository in front of you is the source code of a coding agent. It is run as\n"
        "`python -m agent --repo REPO --problem PROBLEM_FILE --out OUT_DIR`; that interface must\n"
        "keep working, and the code must stay standard-library only.\n\n"
        f"{AGENT_SUMMARY}\n"
        f"## Problem\n{proposal.problem_description}\n\n"
        f"## What to implement\n{proposal.implementation_suggestion}\n"
    )

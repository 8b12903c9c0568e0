"""What one evaluation of one candidate program gives back."""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from pydantic import BaseModel, Field

Direction = Literal["min", "max"]
Split = Literal["train", "heldout"]  # which of a problem's data an evaluation scores on
FEEDBACK_CHARS = 4000  # what an LLM is shown of errors and artifacts; the rest is cut


class Evaluation(BaseModel):
    """One candidate scored by a problem's evaluator inside the sandbox. A failed evaluation
    has no score and says why in `failure`; it is a result, never an exception."""

    ok: bool = Field(description="The evaluator ran to the end and gave a finite primary score.")
    score: float | None = Field(default=None, description="The primary score (None when failed).")
    direction: Direction = Field(
        description="Whether a lower ('min') or higher ('max') score is better."
    )
    metrics: dict[str, float] = Field(
        default_factory=dict,
        description="Named metrics; non-finite or non-numeric values are left out.",
    )
    feedback: str = Field(
        default="",
        description="Text for the LLM: errors, the evaluator's artifacts, its output's tail.",
    )
    failure: str | None = Field(
        default=None, description="Why the evaluation failed, in one line (None when ok)."
    )
    duration_s: float = Field(
        default=0.0, description="Wall time of the evaluator's run in the sandbox."
    )

    @classmethod
    def failed(
        cls,
        direction: Direction,
        why: str,
        feedback: str = "",
        duration_s: float = 0.0,
        metrics: dict[str, float] | None = None,
    ) -> Evaluation:
        return cls(
            ok=False,
            direction=direction,
            failure=" ".join(why.split())[:500],  # one line, whatever the evaluator printed
            feedback=clip(feedback or why),
            duration_s=duration_s,
            metrics=metrics or {},
        )

    def better_than(self, other: Evaluation) -> bool:
        """True when this one is ok and strictly better than `other` (a failure is worst)."""
        if self.score is None:
            return False
        if other.score is None:
            return True
        return self.score < other.score if self.direction == "min" else self.score > other.score


def finite_metrics(raw: dict[str, object]) -> dict[str, float]:
    """The metrics that are real, finite numbers, as floats (an integer too big for a
    float, 10**400, is not finite)."""
    out: dict[str, float] = {}
    for key, value in raw.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:
                continue
            if math.isfinite(number):
                out[key] = number
    return out


def read_json(text: str | bytes) -> Any:
    """JSON an evaluator wrote (untrusted): ValueError for anything that is not plain JSON,
    however it is broken (nested too deep for the parser, an integer too long...)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def clip(text: str, limit: int = FEEDBACK_CHARS) -> str:
    """The head and tail of `text` when it is longer than `limit` (errors end at the tail)."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - limit} characters cut ...]\n{text[-half:]}"

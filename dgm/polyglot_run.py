"""What a polyglot suite changes in a run, where DGM's code treats its `--polyglot` runs
apart from its SWE-bench ones (docs/fidelity.md): the evaluation protocol here; the seed's
score (dgm/loop.py, `seed_on_suite`), the selection score (`first_stage_selection`) and
the focus of a self-modification (dgm/mutators/focus.py) read `polyglot_suite` too."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dgm.config import PolyglotSettings
    from dgm.evaluator import EvalLimits


def polyglot_suite(suite: str) -> bool:
    """Whether a suite spec names Aider's polyglot benchmark (DGM's `--polyglot` runs)."""
    return suite.startswith("polyglot")


def polyglot_limits(limits: EvalLimits, settings: PolyglotSettings) -> EvalLimits:
    """`limits` with the polyglot settings that are set: tries, the agent's deadline (its
    sandbox's too) and the tests' deadline."""
    changes: dict[str, object] = {}
    if settings.tries is not None:
        changes["max_tries"] = settings.tries
    if settings.timeout_s is not None:
        changes["agent_timeout_s"] = settings.timeout_s
        changes["sandbox"] = limits.sandbox.model_copy(update={"timeout_s": settings.timeout_s})
    if settings.test_timeout_s is not None:
        changes["grade_timeout_s"] = settings.test_timeout_s
    return limits.model_copy(update=changes)

"""Budgets (what a scope may spend) and the ledger that counts what each scope spent.

A scope is the run, one session (one agent evaluation), or one task of one agent.
A call is checked against every scope it belongs to before it goes upstream, and
charged to all of them after. Calls are reserved atomically, so concurrent callers
never exceed `max_calls`; tokens and dollars are only known afterwards, so the call
that crosses those limits completes and the next one is refused.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from dgm.llm.errors import BudgetExceeded

if TYPE_CHECKING:
    from archive import LLMCallRecord


class Budget(BaseModel):
    """Limits for one scope. None means unlimited."""

    max_calls: int | None = Field(default=None, ge=0)
    """Model calls allowed (cache hits count: an agent must behave the same either way)."""
    max_tokens: int | None = Field(default=None, ge=0)
    """Prompt plus completion tokens allowed."""
    max_usd: float | None = Field(default=None, ge=0)
    """Dollars allowed, from litellm's price map (unpriced models cost 0)."""


@dataclass
class Usage:
    """What one scope spent so far."""

    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    errors: int = 0

    refused: int = 0
    """Calls refused for a spent budget (they cost nothing)."""
    context_overflows: int = 0
    """Calls the model refused because the request exceeded its context window."""

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out


def count(usage: Usage, call: LLMCallRecord) -> None:
    """Add one recorded call (or failed attempt; an archive.LLMCallInfo) to `usage`."""
    if call.error_kind is None:
        usage.calls += 1
    elif call.error_kind == "budget_exceeded":
        usage.refused += 1
    else:
        usage.errors += 1
        usage.context_overflows += call.error_kind == "context_length"
    usage.tokens_in += call.tokens_in
    usage.tokens_out += call.tokens_out
    usage.cost_usd += call.cost_usd


def tally(calls: Iterable[LLMCallRecord]) -> Usage:
    """The totals of recorded calls: what `dgm llm usage` shows and a resumed run starts from."""
    total = Usage()
    for c in calls:
        count(total, c)
    return total


def tally_by(calls: Iterable[LLMCallRecord], key: str) -> dict[str, Usage]:
    """Totals per value of one attribute of the calls (purpose, model, agent_id, ...)."""
    out: dict[str, Usage] = defaultdict(Usage)
    for c in calls:
        count(out[str(getattr(c, key) or "-")], c)
    return dict(out)


def over(budget: Budget, usage: Usage) -> str | None:
    """Which limit of `budget` `usage` has reached (a phrase), or None."""
    if budget.max_calls is not None and usage.calls >= budget.max_calls:
        return f"{usage.calls} of {budget.max_calls} calls used"
    if budget.max_tokens is not None and usage.tokens >= budget.max_tokens:
        return f"{usage.tokens} of {budget.max_tokens} tokens used"
    if budget.max_usd is not None and usage.cost_usd >= budget.max_usd:
        return f"${usage.cost_usd:.4f} of ${budget.max_usd:.4f} spent"
    return None


class Ledger:
    """Usage per scope key, with the budget of each scope; safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._usage: dict[str, Usage] = {}
        self._budgets: dict[str, Budget] = {}

    def set_budget(self, scope: str, budget: Budget | None) -> None:
        with self._lock:
            if budget is None:
                self._budgets.pop(scope, None)
            else:
                self._budgets[scope] = budget

    def usage(self, scope: str) -> Usage:
        with self._lock:
            u = self._usage.get(scope, Usage())
            return replace(u)

    def seed(self, scope: str, usage: Usage) -> None:
        """Start `scope` from what it spent earlier (a resumed run)."""
        with self._lock:
            self._usage[scope] = replace(usage)

    def reserve(self, scopes: list[str]) -> None:
        """Count one call in every scope, or raise BudgetExceeded and count nothing."""
        with self._lock:
            for scope in scopes:
                budget = self._budgets.get(scope)
                if budget is None:
                    continue
                reason = over(budget, self._usage.get(scope, Usage()))
                if reason:
                    raise BudgetExceeded(f"{scope} budget exceeded: {reason}")
            for scope in scopes:
                self._usage.setdefault(scope, Usage()).calls += 1

    def charge(
        self,
        scopes: list[str],
        tokens_in: int,
        tokens_out: int,
        cost_usd: float,
        error_kind: str | None = None,
    ) -> None:
        with self._lock:
            for scope in scopes:
                u = self._usage.setdefault(scope, Usage())
                u.tokens_in += tokens_in
                u.tokens_out += tokens_out
                u.cost_usd += cost_usd
                u.errors += error_kind is not None
                u.context_overflows += error_kind == "context_length"

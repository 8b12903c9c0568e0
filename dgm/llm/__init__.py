"""The LLM layer: one gateway for every model call, with budgets, records, replay, and a
bundled local model. See docs/llm.md for the wire contract agents code against."""

from __future__ import annotations

import os

# litellm must use the price map it ships with, never fetch one at import (no network here,
# and prices must not change under a running run). Set before anything imports litellm.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from dgm.llm.budget import Budget, Usage
from dgm.llm.errors import BudgetExceeded, LLMError, from_client_error
from dgm.llm.gateway import Gateway, RetryPolicy, Session
from dgm.llm.models import default_model, open_provider
from dgm.llm.provider import Completion, Provider

__all__ = [
    "Budget",
    "BudgetExceeded",
    "Completion",
    "Gateway",
    "LLMError",
    "Provider",
    "RetryPolicy",
    "Session",
    "Usage",
    "default_model",
    "from_client_error",
    "open_provider",
]

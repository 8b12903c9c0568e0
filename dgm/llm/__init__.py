"""The LLM layer: one gateway for every model call, with budgets, records, replay, and a
bundled local model. See docs/llm.md for the wire contract agents code against.

The names below are imported on first use: the LLM-call writer subprocess imports
`dgm.llm.recorder` alone, and must not pay for the gateway's imports (pydantic's among
them, a second or more of CPU at every run's start).
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

# litellm must use the price map it ships with, never fetch one at import (no network here,
# and prices must not change under a running run). Set before anything imports litellm.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

if TYPE_CHECKING:
    from dgm.llm.budget import Budget, Usage
    from dgm.llm.errors import BudgetExceeded, LLMError, from_client_error
    from dgm.llm.gateway import Gateway, RetryPolicy, Session
    from dgm.llm.models import default_model, open_provider
    from dgm.llm.provider import Completion, Provider

_HOME = {
    "Budget": "dgm.llm.budget",
    "Usage": "dgm.llm.budget",
    "BudgetExceeded": "dgm.llm.errors",
    "LLMError": "dgm.llm.errors",
    "from_client_error": "dgm.llm.errors",
    "Gateway": "dgm.llm.gateway",
    "RetryPolicy": "dgm.llm.gateway",
    "Session": "dgm.llm.gateway",
    "default_model": "dgm.llm.models",
    "open_provider": "dgm.llm.models",
    "Completion": "dgm.llm.provider",
    "Provider": "dgm.llm.provider",
}

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


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'dgm.llm' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)

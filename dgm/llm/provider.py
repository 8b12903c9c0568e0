"""The seam between the gateway and whatever answers: the Provider protocol and the
Completion it returns. Which provider a model string names: dgm/llm/models.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Completion:
    """One answered request: the exact response body the gateway serves, and its cost."""

    body: bytes
    tokens_in: int
    tokens_out: int
    cost_usd: float


class Provider(Protocol):
    model: str
    """The model name clients see (DGM_LLM_MODEL, GET /v1/models) and request keys use."""
    cacheable: bool
    """May the gateway answer a temperature-0 request from an earlier recording?"""

    @property
    def takes_n(self) -> bool:
        """Does a request with `n` get n choices in one answer (one call, billed once)?
        Callers that want several samples of one prompt make separate calls when not."""
        ...

    def complete(self, request: dict[str, Any], key: str) -> Completion:
        """Answer one canonical request (its request key given), or raise LLMError."""
        ...

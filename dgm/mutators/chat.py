"""Host-side LLM calls through the run's gateway (the same path the agents use)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dgm.llm import Gateway
    from dgm.llm.gateway_client import GatewayClient


def json_schema_format(name: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAI `response_format` that asks for JSON of `schema`: hosted models that
    support structured outputs follow it, and the local model decodes under its grammar."""
    return {
        "type": "json_schema",
        "json_schema": {"name": name, "schema": dict(schema), "strict": True},
    }


class GatewayChat:
    """`Chat` over a started `dgm.llm.gateway.Gateway`: one client per (purpose, agent),
    each its own gateway session, posting to the gateway's socket without the openai SDK
    (dgm/llm/gateway_client.py: its errors are the SDK's names and words).
    `model`: one the gateway serves (its default model's when None)."""

    def __init__(
        self,
        gateway: Gateway,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        model: str | None = None,
    ) -> None:
        self.gateway = gateway
        self.model = model or gateway.provider.model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self._clients: dict[tuple[str, str | None], GatewayClient] = {}
        self._lock = threading.Lock()

    def _client(self, purpose: str, agent_id: str | None) -> GatewayClient:
        with self._lock:
            key = (purpose, agent_id)
            if key not in self._clients:
                self._clients[key] = self.gateway.socket_client(purpose, agent_id, self.model)
            return self._clients[key]

    @property
    def takes_n(self) -> bool:
        """Whether `samples` gets several answers from one call (see Provider.takes_n)."""
        return self.gateway.takes_n(self.model)

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        purpose: str,
        agent_id: str | None = None,
        schema: Mapping[str, Any] | None = None,
    ) -> str:
        return self._ask(messages, purpose, agent_id, schema)[0]

    def samples(
        self, messages: list[dict[str, str]], n: int, *, purpose: str, agent_id: str | None = None
    ) -> list[str]:
        """n answers to one prompt from one call with `n` (one record, billed once); call
        it where `takes_n`. A provider may answer fewer: the caller asks again for the rest."""
        return self._ask(messages, purpose, agent_id, None, n)

    def _ask(
        self,
        messages: list[dict[str, str]],
        purpose: str,
        agent_id: str | None,
        schema: Mapping[str, Any] | None,
        n: int = 1,
    ) -> list[str]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature,
        }
        if self.max_tokens:
            body["max_tokens"] = self.max_tokens
        if schema is not None:
            body["response_format"] = json_schema_format(purpose, schema)
        if n > 1:
            body["n"] = n
        return self._client(purpose, agent_id).complete(body)

"""Host-side LLM calls through the run's gateway (the same path the agents use)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from openai import OpenAI
    from openai.types.chat import ChatCompletionMessageParam

    from dgm.llm import Gateway


def json_schema_format(name: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAI `response_format` that asks for JSON of `schema`: hosted models that
    support structured outputs follow it, and the local model decodes under its grammar."""
    return {
        "type": "json_schema",
        "json_schema": {"name": name, "schema": dict(schema), "strict": True},
    }


class GatewayChat:
    """`Chat` over a started `dgm.llm.gateway.Gateway`: one client per (purpose, agent).
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
        self._clients: dict[tuple[str, str | None], OpenAI] = {}
        self._lock = threading.Lock()

    def _client(self, purpose: str, agent_id: str | None) -> OpenAI:
        with self._lock:
            key = (purpose, agent_id)
            if key not in self._clients:
                self._clients[key] = self.gateway.client(
                    purpose=purpose, agent_id=agent_id, model=self.model
                )
            return self._clients[key]

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        purpose: str,
        agent_id: str | None = None,
        schema: Mapping[str, Any] | None = None,
    ) -> str:
        kwargs: dict[str, Any] = {"temperature": self.temperature}
        if self.max_tokens:
            kwargs["max_tokens"] = self.max_tokens
        if schema is not None:
            kwargs["response_format"] = json_schema_format(purpose, schema)
        reply = self._client(purpose, agent_id).chat.completions.create(
            model=self.model,
            messages=cast("list[ChatCompletionMessageParam]", messages),  # role/content dicts
            **kwargs,
        )
        return reply.choices[0].message.content or ""

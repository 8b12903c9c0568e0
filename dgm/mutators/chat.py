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
        from dgm.llm.gateway import import_openai_soon

        import_openai_soon()  # its clients need the SDK: seconds to import, not in the 1st call
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
        kwargs: dict[str, Any] = {"temperature": self.temperature}
        if self.max_tokens:
            kwargs["max_tokens"] = self.max_tokens
        if schema is not None:
            kwargs["response_format"] = json_schema_format(purpose, schema)
        if n > 1:
            kwargs["n"] = n
        reply = self._client(purpose, agent_id).chat.completions.create(
            model=self.model,
            messages=cast("list[ChatCompletionMessageParam]", messages),  # role/content dicts
            **kwargs,
        )
        return [c.message.content or "" for c in reply.choices]

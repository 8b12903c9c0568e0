"""A model on an OpenAI-compatible server of the user's (`openai/NAME` with `--api-base`:
vLLM, llama.cpp, Ollama's /v1, a test server), spoken to directly over HTTP.

litellm would send the same request (it forwards an `openai/` model with its own
api_base as OpenAI's chat-completions body), but importing it takes seconds (22 s on a
loaded 2-core machine), paid by every run before its first call. Here the gateway's
canonical request goes out as it is, with the name after `openai/` as the model, and the
upstream's chat.completion comes back as the answer. Errors are classified as
dgm/llm/upstream.py classifies litellm's (`errors.from_status` for statuses); prices come
from litellm's bundled price map, read as a file (dgm/llm/prices.py).

The key is OPENAI_API_KEY when set, else none needed (the placeholder "no-key", as the
litellm path sends). It goes only in the request to the server.
"""

from __future__ import annotations

import json
import math
import os
import threading
from typing import Any

import httpx

from dgm.llm.errors import LLMError, from_status
from dgm.llm.prices import cost_of
from dgm.llm.provider import Completion

PREFIX = "openai/"


def speaks_openai(model: str) -> bool:
    """Whether `model`, on a server of the user's (`api_base`), is answered by this module."""
    return model.startswith(PREFIX)


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:300]


def error_message(response: httpx.Response) -> str:
    """What the server said was wrong: OpenAI's `error.message`, else the body's first line."""
    try:
        body = response.json()
    except ValueError:
        return _first_line(response.text) or response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return _first_line(str(error["message"]))
    if isinstance(error, str):
        return _first_line(error)
    return _first_line(response.text)


def answer(response: httpx.Response) -> dict[str, Any]:
    """The chat.completion of a 2xx response, or LLMError("bad_response") when it is not one."""
    try:
        body = json.loads(response.content)
    except ValueError as e:
        raise LLMError("bad_response", f"upstream sent malformed JSON: {e}") from e
    if not isinstance(body, dict):
        raise LLMError("bad_response", "upstream sent JSON that is not a chat.completion")
    if not body.get("choices"):
        raise LLMError("bad_response", "upstream response has no choices")
    return body


def token_counts(completion: dict[str, Any]) -> tuple[int, int]:
    """(prompt, completion) tokens the server reported, 0 for one it left out; any other
    `usage` (not an object, counts that are not finite numbers or are negative, which would
    refund the budget) is LLMError("bad_response"), not an answer."""
    usage = completion.get("usage") or {}
    if not isinstance(usage, dict):
        raise LLMError("bad_response", f"upstream's usage is not an object: {str(usage)[:100]}")
    counts = []
    for key in ("prompt_tokens", "completion_tokens"):
        value = usage.get(key)
        value = 0 if value is None else value  # left out is 0; "" or [] is not a count
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise LLMError(
                "bad_response", f"upstream's usage.{key} is not a number: {value!r:.100}"
            )
        counts.append(int(value))
    tokens_in, tokens_out = counts
    if tokens_in < 0 or tokens_out < 0:
        raise LLMError(
            "bad_response",
            f"upstream reported negative token counts ({tokens_in} in, {tokens_out} out)",
        )
    return tokens_in, tokens_out


class OpenAICompatibleProvider:
    cacheable = True
    takes_n = True  # OpenAI's protocol answers `n` choices in one call (litellm says so too)

    def __init__(self, model: str, api_base: str, timeout_s: float = 300.0) -> None:
        self.model = model
        self.api_base = api_base.rstrip("/")
        self.timeout_s = timeout_s
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def check_credentials(self) -> None:
        """Nothing to check: the user's own server may need no key."""

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout_s)
            return self._client

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {os.environ.get('OPENAI_API_KEY') or 'no-key'}"}

    def complete(self, request: dict[str, Any], key: str) -> Completion:
        body = {**request, "model": self.model.removeprefix(PREFIX)}
        try:
            response = self._http().post(
                f"{self.api_base}/chat/completions", json=body, headers=self._headers()
            )
        except httpx.TimeoutException as e:
            raise LLMError("timeout", f"upstream timed out: {type(e).__name__}: {e}") from e
        except (httpx.TransportError, ConnectionError) as e:
            raise LLMError(
                "connection", f"upstream connection failed: {type(e).__name__}: {e}"
            ) from e
        if not response.is_success:
            raise from_status(response.status_code, error_message(response))
        tokens_in, tokens_out = token_counts(answer(response))
        return Completion(response.content, tokens_in, tokens_out, self.cost(tokens_in, tokens_out))

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        """USD by litellm's price map; 0 (said once in the log) for a model it has no price for."""
        return cost_of(self.model, tokens_in, tokens_out)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

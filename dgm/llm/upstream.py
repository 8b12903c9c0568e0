"""Any hosted or self-hosted model, through litellm: openai/..., anthropic/..., ollama/...,
hosted_vllm/..., or a server via api_base (an `openai/` model on a server of the user's is
spoken to without litellm: dgm/llm/openai_compatible.py).

API keys are whatever litellm finds in the host's environment (OPENAI_API_KEY, ...).
They never leave this process except in the request to the provider itself.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from typing import Any

from dgm.errors import UserError
from dgm.llm.errors import LLMError, from_status
from dgm.llm.prices import known_unpriced, unpriced
from dgm.llm.provider import Completion

log = logging.getLogger(__name__)


@functools.cache
def _litellm() -> Any:
    """litellm, imported and configured once (the package __init__ pins its price map)."""
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    logging.getLogger("LiteLLM").setLevel(logging.WARNING)
    return litellm


def _chain(e: BaseException) -> list[BaseException]:
    """The exception and what caused it: litellm wraps transport errors as HTTP 500s."""
    seen: list[BaseException] = []
    cur: BaseException | None = e
    while cur is not None and len(seen) < 12:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def _missing_key(e: BaseException) -> bool:
    """The openai client's refusal to start without a key (litellm wraps it as a 500)."""
    import openai

    return isinstance(e, openai.OpenAIError) and "api_key" in str(e)


# litellm's words for an answer it could not read as its response type (a `usage` that is
# not an object, say); it wraps them as an InternalServerError.
NOT_A_RESPONSE = "Invalid response object"


def classify(e: BaseException) -> LLMError:
    """Map whatever litellm (or openai, or httpx) raised to one error kind."""
    import httpx
    import openai

    litellm = _litellm()
    text = (str(e).splitlines() or [type(e).__name__])[0][:300]
    chain = _chain(e)
    # What really happened is at the bottom of the chain; look there first.
    if any(
        isinstance(c, (openai.APITimeoutError, httpx.TimeoutException, TimeoutError)) for c in chain
    ):
        return LLMError("timeout", f"upstream timed out: {text}")
    if any(isinstance(c, json.JSONDecodeError) for c in chain):
        return LLMError("bad_response", f"upstream sent malformed JSON: {text}")
    if any(str(c).startswith(NOT_A_RESPONSE) for c in chain):  # else a retried 500
        # the bottom of the chain says what did not fit; litellm's own line holds a traceback
        why = (str(chain[-1]).splitlines() or [""])[0][:300]
        return LLMError(
            "bad_response",
            f"upstream sent JSON that is not a chat.completion: {type(chain[-1]).__name__}: {why}",
        )
    if any(
        isinstance(c, (openai.APIConnectionError, httpx.TransportError, ConnectionError))
        for c in chain
    ):
        return LLMError("connection", f"upstream connection failed: {text}")
    if any(_missing_key(c) for c in chain):
        return LLMError("auth", f"upstream refused the credentials: {text}")
    if isinstance(e, litellm.ContextWindowExceededError):
        return LLMError("context_length", f"the request exceeds the model's context window: {text}")
    status = _status_of(e)
    if status is None:
        return LLMError("bad_response", f"upstream call failed: {type(e).__name__}: {text}")
    return from_status(status, text)


def _status_of(e: BaseException) -> int | None:
    """The HTTP status behind a litellm error: its class says it, else its status_code."""
    litellm = _litellm()
    for cls, known in (
        (litellm.RateLimitError, 429),
        (litellm.AuthenticationError, 401),
        (litellm.PermissionDeniedError, 403),
        (litellm.NotFoundError, 404),
        (litellm.BadRequestError, 400),
    ):
        if isinstance(e, cls):
            return known
    status = getattr(e, "status_code", None)
    return status if isinstance(status, int) else None


def price(model: str, tokens_in: int, tokens_out: int) -> float | None:
    """USD of a call of `model` by litellm's price map; None when it has no price."""
    try:
        prompt, completion = _litellm().cost_per_token(
            model=model, prompt_tokens=tokens_in, completion_tokens=tokens_out
        )
    except Exception:  # noqa: BLE001 - litellm raises for unknown models
        return None
    return float(prompt + completion)


def missing_keys(model: str) -> list[str]:
    """The API keys `model` needs that the environment lacks, as litellm's
    `validate_environment` says. For an `openai/` model its rule (litellm/utils.py: the
    variable is set, even empty) is applied here, without importing litellm."""
    if model.startswith("openai/"):
        return [] if "OPENAI_API_KEY" in os.environ else ["OPENAI_API_KEY"]
    try:
        found = _litellm().validate_environment(model=model)
    except Exception:  # noqa: BLE001 - a provider litellm cannot judge: its call will say
        return []
    missing = [str(k) for k in found.get("missing_keys") or []]
    return [] if found.get("keys_in_environment") else missing


class LiteLLMProvider:
    cacheable = True

    def __init__(self, model: str, api_base: str | None = None, timeout_s: float = 300.0) -> None:
        self.model = model
        self.api_base = api_base
        self.timeout_s = timeout_s

    @functools.cached_property
    def takes_n(self) -> bool:
        """Whether the provider answers `n` choices in one call, as litellm knows it (OpenAI
        and OpenAI-compatible servers do; Anthropic and Ollama do not, and litellm would
        drop the parameter)."""
        litellm = _litellm()
        try:
            model, provider, _, _ = litellm.get_llm_provider(self.model, api_base=self.api_base)
            params = litellm.get_supported_openai_params(model=model, custom_llm_provider=provider)
        except Exception:  # noqa: BLE001 - a provider litellm cannot judge: one sample a call
            return False
        return "n" in (params or [])

    def check_credentials(self) -> None:
        """UserError now when the provider's API key is not in the environment: without
        it every call of a run would fail (and a run would end 'finished' with nothing).
        An OpenAI model is checked without importing litellm (seconds): a plan
        (`--dry-run`) needs nothing more of it."""
        if self.api_base:  # an OpenAI-compatible server of the user's: it may need no key
            return
        missing = missing_keys(self.model)
        if missing:
            raise UserError(
                f"model {self.model} needs {' and '.join(missing)} in the environment: export "
                "it (keys never go in a config), or use --model local"
            )

    def warm(self) -> None:
        """Import litellm in the background: the first call needs it, and it takes
        seconds; a run's start and its seed's evaluation go on beside it."""
        threading.Thread(target=_litellm, name="dgm-litellm-import", daemon=True).start()

    def _api_key(self) -> str | None:
        # An OpenAI-compatible server (vLLM, llama.cpp, a test server) often needs no key,
        # but the openai client refuses to start without one.
        if (
            self.api_base
            and self.model.startswith("openai/")
            and not os.environ.get("OPENAI_API_KEY")
        ):
            return "no-key"
        return None

    def complete(self, request: dict[str, Any], key: str) -> Completion:
        litellm = _litellm()
        params = {k: v for k, v in request.items() if k != "model"}
        try:
            response = litellm.completion(
                model=self.model,
                api_base=self.api_base,
                api_key=self._api_key(),
                timeout=self.timeout_s,
                num_retries=0,  # the gateway retries, and records each failure
                max_retries=0,
                drop_params=True,
                **params,
            )
            if not response.choices:
                raise LLMError("bad_response", "upstream response has no choices")
            body = response.model_dump_json(exclude_none=True).encode()
            usage = getattr(response, "usage", None)
            tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
            tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
            if tokens_in < 0 or tokens_out < 0:  # would refund the budget: not an answer
                raise LLMError(
                    "bad_response",
                    f"upstream reported negative token counts ({tokens_in} in, {tokens_out} out)",
                )
        except LLMError:
            raise
        except Exception as e:  # noqa: BLE001 - every upstream failure becomes an error kind
            raise classify(e) from e
        return Completion(body, tokens_in, tokens_out, self.cost(tokens_in, tokens_out))

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        """USD from litellm's price map; 0 (said once in the log) for a model it has no price for."""
        if known_unpriced(self.model):  # litellm's lookup raises for it: once is enough
            return 0.0
        usd = price(self.model, tokens_in, tokens_out)
        return unpriced(self.model) if usd is None else usd

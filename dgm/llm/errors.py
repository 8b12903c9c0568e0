"""What can go wrong with a model call, named so a caller (or an agent) can act on it."""

from __future__ import annotations

# error kind -> HTTP status the gateway answers with. The kind is also `error.type` in the
# OpenAI-shaped error body and `error_kind` in the archive record.
HTTP_STATUS: dict[str, int] = {
    "budget_exceeded": 429,
    "rate_limit": 502,
    "server_error": 502,
    "timeout": 504,
    "connection": 502,
    "bad_response": 502,
    "bad_request": 400,
    "context_length": 400,  # the request is longer than the model's context window
    "auth": 401,
    "not_found": 404,
    "model_not_mapped": 400,  # an SDK agent named a model agent_format.models does not map
    "replay_miss": 404,
    "script_exhausted": 404,
    "unavailable": 503,
    "internal": 500,
}

# Kinds worth another try: the upstream may well answer the same request next time
# (a truncated or garbled body is usually a transport hiccup, like a dropped connection).
RETRYABLE = frozenset({"rate_limit", "server_error", "timeout", "connection", "bad_response"})


class LLMError(Exception):
    """A model call that failed; `kind` is one of HTTP_STATUS's keys."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.kind, 502)


class BudgetExceeded(LLMError):
    """A call refused because a run, session or task budget is spent."""

    def __init__(self, message: str) -> None:
        super().__init__("budget_exceeded", message)


# How providers word a request longer than the model's context window, lower-cased (as
# litellm recognises it: litellm_core_utils/exception_mapping_utils.py).
CONTEXT_WORDS = (
    "exceed context limit",
    "this model's maximum context length is",
    "model's maximum context limit",
    "is longer than the model's context length",
    "input tokens exceed the configured limit",
    "exceeds the maximum number of tokens allowed",
    "context_length_exceeded",
)


def from_status(status: int, text: str) -> LLMError:
    """The error kind of an upstream's HTTP error status, `text` being what it said."""
    if status == 429:
        return LLMError("rate_limit", f"upstream rate limit: {text}")
    if status in (401, 403):
        return LLMError("auth", f"upstream refused the credentials: {text}")
    if status == 404:
        return LLMError("not_found", f"upstream does not know the model or path: {text}")
    if status in (400, 413, 422) and any(w in text.lower() for w in CONTEXT_WORDS):
        return LLMError("context_length", f"the request exceeds the model's context window: {text}")
    if status in (400, 413, 422):
        return LLMError("bad_request", f"upstream rejected the request: {text}")
    if status >= 500:
        return LLMError("server_error", f"upstream server error {status}: {text}")
    return LLMError("bad_response", f"upstream answered HTTP {status}: {text}")


def from_client_error(e: BaseException) -> LLMError:
    """The gateway's error behind an exception of a host-side `gw.client()` call (an
    openai.APIStatusError carrying our error body), as LLMError / BudgetExceeded."""
    body = getattr(e, "body", None)
    kind = body.get("type") if isinstance(body, dict) else None
    message = body.get("message") if isinstance(body, dict) else None
    if kind == "budget_exceeded":
        return BudgetExceeded(message or str(e))
    if kind in HTTP_STATUS:
        return LLMError(kind, message or str(e))
    if type(e).__name__ in ("APIConnectionError", "APITimeoutError"):
        return LLMError("connection", f"cannot reach the gateway: {e}")
    return LLMError("internal", f"{type(e).__name__}: {e}")

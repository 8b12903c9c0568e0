"""A host-side chat client for the gateway's own socket: one POST with httpx, no openai SDK.

The operators' chats (dgm/mutators/chat.py) used the openai SDK for this, and importing it
cost a run about a second of CPU at start (more on a loaded machine) for a plain JSON POST
on a Unix socket. Its errors are still named and worded as the SDK's (`RateLimitError:
Error code: 429 - {...}`, `APIConnectionError: Connection error.`): a failed expansion
records `f"{type(e).__name__}: {e}"`, runs recorded before kept those words, and
`dgm.llm.errors.from_client_error` reads `body` as it reads the SDK's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

URL = "http://dgm-gateway/v1/chat/completions"


class APIError(Exception):
    """What the SDK's APIError carries that callers read: the message and the body."""

    def __init__(self, message: str, body: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.body = body


class APIConnectionError(APIError):
    def __init__(self, message: str = "Connection error.") -> None:
        super().__init__(message)


class APITimeoutError(APIConnectionError):
    def __init__(self) -> None:
        super().__init__("Request timed out.")


class APIStatusError(APIError):
    """An error status from the gateway; `body` is the error object of its answer."""

    def __init__(self, message: str, status_code: int, body: object) -> None:
        super().__init__(message, body)
        self.status_code = status_code


class BadRequestError(APIStatusError): ...


class AuthenticationError(APIStatusError): ...


class PermissionDeniedError(APIStatusError): ...


class NotFoundError(APIStatusError): ...


class ConflictError(APIStatusError): ...


class UnprocessableEntityError(APIStatusError): ...


class RateLimitError(APIStatusError): ...


class InternalServerError(APIStatusError): ...


STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error(status: int, text: str) -> APIStatusError:
    """The error for an answer of `status` saying `text`, as the SDK makes it
    (openai's `_make_status_error_from_response` and `_make_status_error`)."""
    text = text.strip()
    body: object = text
    try:
        body = json.loads(text)
        message = f"Error code: {status} - {body}"
    except ValueError:
        message = text or f"Error code: {status}"
    data = body.get("error", body) if isinstance(body, dict) else body
    kind = STATUS_ERRORS.get(status, InternalServerError if status >= 500 else APIStatusError)
    return kind(message, status, data)


class GatewayClient:
    """Chat completions of one gateway session (its token), over the gateway's socket."""

    def __init__(self, socket_path: str, token: str, timeout_s: float = 900.0) -> None:
        # plain HTTP on our own socket: never TLS, so no certificate bundle to load
        self._http = httpx.Client(
            transport=httpx.HTTPTransport(uds=socket_path, verify=False),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
        )

    def complete(self, body: Mapping[str, Any]) -> list[str]:
        """The choices' contents of one chat completion asked with `body`."""
        try:
            r = self._http.post(URL, json=dict(body))
        except httpx.TimeoutException as e:
            raise APITimeoutError() from e
        except Exception as e:  # as the SDK: whatever stopped the request (a closed client)
            raise APIConnectionError() from e
        if not r.is_success:
            raise status_error(r.status_code, r.text)
        choices = r.json().get("choices") or []
        return [(c.get("message") or {}).get("content") or "" for c in choices]

    def close(self) -> None:
        self._http.close()

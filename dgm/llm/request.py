"""The canonical form of a chat-completions request: what is recorded, hashed and cached.

The gateway serves one model, so the client's `model` field is replaced by the
provider's. Anything that could carry a secret is dropped before a request is hashed,
recorded or logged.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# Never recorded, hashed or forwarded from a client: keys, endpoints, and transport knobs.
SCRUBBED = frozenset(
    {
        "api_key",
        "apikey",
        "authorization",
        "api_base",
        "base_url",
        "extra_headers",
        "headers",
        "organization",
        "api_version",
        "timeout",
        "stream",
        "stream_options",
        "metadata",
        "user",
    }
)


def _plain_numbers(value: Any) -> Any:
    """0.0 -> 0, 1.0 -> 1: clients differ in how they write the same number, keys must not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_numbers(v) for v in value]
    return value


def canonical(request: dict[str, Any], model: str) -> dict[str, Any]:
    """The request as the gateway sends it upstream: scrubbed, with our model, no nulls,
    integral floats written as integers."""
    out = {
        k: _plain_numbers(v)
        for k, v in request.items()
        if k.lower() not in SCRUBBED and v is not None
    }
    out["model"] = model
    return out


def encode(request: dict[str, Any]) -> bytes:
    """Canonical JSON bytes: sorted keys, no whitespace, UTF-8."""
    return json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def request_key(request: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of an already canonical request."""
    return encoded_key(encode(request))


def encoded_key(raw: bytes) -> str:
    """request_key of a request already encoded with `encode` (so it is encoded once)."""
    return hashlib.sha256(raw).hexdigest()


def cacheable(request: dict[str, Any]) -> bool:
    """Only deterministic requests may be answered from an earlier recording."""
    return request.get("temperature") == 0 and request.get("n", 1) == 1

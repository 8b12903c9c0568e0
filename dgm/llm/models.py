"""Which provider answers a model string: `open_provider(model)` picks by it:
  "local"          the bundled SmolLM2-135M run by llama-cpp-python (offline, weak)
  "replay:RUN"     the recorded responses of run RUN, keyed by request
  "scripted:FILE"  responses from a YAML/JSON file (tests and demos only)
  "openai/NAME" with api_base   the user's OpenAI-compatible server, spoken to directly
  anything else    a litellm model string: openai/..., anthropic/..., ollama/..., hosted_vllm/...

Each provider's module is imported only when its model is opened (litellm and llama.cpp
are slow to import).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from dgm.errors import UserError
from dgm.llm.provider import Provider

if TYPE_CHECKING:
    from archive import Archive


def open_provider(
    model: str, archive: Archive | None = None, api_base: str | None = None, warm: bool = True
) -> Provider:
    """The provider a `--model` string names; UserError if it cannot be opened. `warm`:
    start importing what its first call needs (litellm) in the background; a check that
    makes no call (a plan, a check before the run) passes False."""
    model = model.strip()
    if not model:
        raise UserError(
            "--model is empty: pass `local`, `replay:RUN`, `scripted:FILE` or a litellm model string like openai/gpt-4o-mini"
        )
    if model == "local":
        from dgm.llm.local import LocalProvider

        return LocalProvider()
    if model.startswith("replay:"):
        from dgm.llm.replay import ReplayProvider

        return ReplayProvider(model.removeprefix("replay:"), archive)
    if model.startswith("scripted:"):
        from dgm.llm.scripted import ScriptedProvider

        return ScriptedProvider.from_file(model.removeprefix("scripted:"))
    if "/" not in model and api_base is None:
        raise UserError(
            f"model {model!r} has no provider prefix: write it as litellm does, e.g. "
            f"openai/{model}, anthropic/{model} or ollama/{model} (or `local`)"
        )
    from dgm.llm.openai_compatible import OpenAICompatibleProvider, speaks_openai

    if api_base is not None and speaks_openai(model):  # no litellm: seconds to import
        return OpenAICompatibleProvider(model, api_base)
    from dgm.llm.upstream import LiteLLMProvider

    provider = LiteLLMProvider(model, api_base=api_base)
    provider.check_credentials()  # before a run exists: a missing key is bad input
    if warm:
        provider.warm()
    return provider


# Host environment variable -> the model dgm uses when none is named and that key is set.
DEFAULT_MODELS = (
    ("OPENAI_API_KEY", "openai/gpt-4o-mini"),
    ("ANTHROPIC_API_KEY", "anthropic/claude-3-5-haiku-latest"),
)


def default_model() -> str:
    """A real model when the host has an API key for one, else the bundled `local` model."""
    for var, model in DEFAULT_MODELS:
        if os.environ.get(var):
            return model
    return "local"

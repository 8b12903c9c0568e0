"""What a call of an `openai/` model costs, by the price map litellm ships, read as a file.

litellm's own lookup (`litellm.cost_per_token`) needs litellm imported, seconds of a run's
start; the OpenAI-compatible provider (dgm/llm/openai_compatible.py) needs no other part
of it. The map is the same file litellm reads when LITELLM_LOCAL_MODEL_COST_MAP is set
(dgm/llm/__init__.py sets it), found without importing the package; tests compare the two
lookups on every OpenAI entry of the map.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MAP_FILE = "model_prices_and_context_window_backup.json"

_unpriced_warned: set[str] = set()
_warn_lock = threading.Lock()


@functools.cache
def price_map() -> dict[str, Any]:
    """litellm's bundled price map ({} if litellm is not installed or the file is unreadable)."""
    spec = importlib.util.find_spec("litellm")  # finds the package without running it
    for folder in (spec.submodule_search_locations or []) if spec else []:
        try:
            loaded = json.loads((Path(folder) / MAP_FILE).read_text())
        except (OSError, ValueError):
            continue
        return loaded if isinstance(loaded, dict) else {}
    return {}


def openai_price(model: str, tokens_in: int, tokens_out: int) -> float | None:
    """USD of a call of `openai/NAME` as litellm prices it: NAME's entry among OpenAI's
    chat models, else None (a name of the user's server that OpenAI does not sell)."""
    entry = price_map().get(model.removeprefix("openai/"))
    if not isinstance(entry, dict) or entry.get("litellm_provider") != "openai":
        return None
    per_in = entry.get("input_cost_per_token")
    # an image model's answer is priced as image tokens; an entry priced otherwise (audio
    # seconds, images) costs 0 per token: both as litellm prices them
    per_out = entry.get("output_cost_per_token") or entry.get("output_cost_per_image_token")
    tier = long_prompt_tier(entry, tokens_in)
    if tier is not None:  # a long prompt: the whole call at that tier's prices
        per_in = entry.get(f"input_cost_per_token_above_{tier}_tokens", per_in)
        per_out = entry.get(f"output_cost_per_token_above_{tier}_tokens", per_out)
    return float((per_in or 0) * tokens_in + (per_out or 0) * tokens_out)


def long_prompt_tier(entry: dict[str, Any], tokens_in: int) -> str | None:
    """The tier ("272k") whose `input_cost_per_token_above_272k_tokens` prices a prompt of
    `tokens_in` tokens, chosen as litellm chooses it (its keys in reverse string order, the
    first whose threshold the prompt passes); None below every tier."""
    for key in sorted(entry, reverse=True):
        if not (key.startswith("input_cost_per_token_above_") and key.endswith("_tokens")):
            continue  # a service tier's variant ends otherwise (..._tokens_priority)
        if entry[key] is None:
            continue
        tier = key.removeprefix("input_cost_per_token_above_").removesuffix("_tokens")
        try:
            threshold = float(tier.replace("k", "")) * (1000 if "k" in tier else 1)
        except ValueError:
            continue
        if tokens_in > threshold:
            return tier
    return None


def known_unpriced(model: str) -> bool:
    """Whether `model` was already found to have no price (its later calls skip the lookup)."""
    with _warn_lock:
        return model in _unpriced_warned


def unpriced(model: str) -> float:
    """0 USD for a model with no known price, said once per model in the log."""
    with _warn_lock:
        if model not in _unpriced_warned:
            _unpriced_warned.add(model)
            log.warning("no price known for %s: its calls count 0 USD against budgets", model)
    return 0.0


def cost_of(model: str, tokens_in: int, tokens_out: int) -> float:
    """USD of a call of an `openai/` model; 0 (said once) when the map has no price for it."""
    usd = openai_price(model, tokens_in, tokens_out)
    return unpriced(model) if usd is None else usd

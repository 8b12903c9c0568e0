"""How dgm shows numbers and ids to people: one home for the CLI, the report and the UI.

Pure functions from values to short strings. Nothing here knows about rich or HTML: the
UI escapes what these return, the CLI prints it.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

from archive.info import objective

SHORT = 8  # characters of an id shown to people (any unique prefix is accepted back)


def short(an_id: str | None) -> str:
    """An agent, run or call id cut to what people read ('-' for none)."""
    return an_id[:SHORT] if an_id else "-"


def score(value: float | None) -> str:
    """A score as stored or given: three decimals, '-' for none."""
    if value is None:
        return "-"
    text = f"{value:.3f}"
    return "0.000" if text == "-0.000" else text  # a negated 0 (a 'min' problem's) is 0


def raw_score(stored: float | None, direction: str | None) -> str:
    """An agent's stored fitness as its problem scores it (a 'min' problem's score is stored
    negated so that higher always wins); a suite's resolved fraction as it is."""
    return score(objective(stored, direction))


def best_score(stored: float | None, direction: str | None) -> str:
    """`raw_score` with the problem's direction after it, e.g. '12.500 (min)'."""
    shown = raw_score(stored, direction)
    return shown if direction is None or stored is None else f"{shown} ({direction})"


def usd(amount: float) -> str:
    """Dollars: cents from a dollar up, four decimals from a cent up, and under a cent two
    significant digits, so a run on a cheap model reads $0.00012, never $0.0000; nothing
    spent (a local model's run) is $0."""
    if amount == 0:
        return "$0"
    if amount >= 1:
        return f"${amount:.2f}"
    if amount >= 0.01 or amount <= 0:
        return f"${amount:.4f}"
    return f"${amount:.{1 - math.floor(math.log10(amount))}f}"


def age(ts: float, now: float | None = None) -> str:
    """Seconds since the epoch -> how long ago, in its largest unit: '5s', '3m', '2h', '4d'."""
    s = max(0.0, (time.time() if now is None else now) - ts)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{int(s // size)}{unit}"
    return f"{int(s)}s"


def when(ts: float | None) -> str:
    """Seconds since the epoch -> a UTC timestamp ('-' for none)."""
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

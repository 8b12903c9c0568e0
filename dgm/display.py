"""Numbers as people read them, the same in the terminal, the report and the web UI."""

from __future__ import annotations

import math


def fmt_usd(usd: float) -> str:
    """Dollars for people: cents from a dollar up, else four decimals, and under a cent two
    significant digits (a run on a cheap model must not read $0.0000)."""
    if usd >= 1:
        return f"${usd:.2f}"
    if usd >= 0.01 or usd <= 0:
        return f"${usd:.4f}"
    return f"${usd:.{1 - math.floor(math.log10(usd))}f}"

"""How dgm shows dollars (dgm/display.py, the one home for them)."""

from __future__ import annotations

from dgm.display import usd


def test_nothing_spent_is_zero_dollars() -> None:
    # A local model's run costs nothing: `$0`, not a price to four decimals.
    assert usd(0.0) == "$0"
    assert usd(0) == "$0"


def test_spent_amounts_keep_their_digits() -> None:
    assert usd(0.00012) == "$0.00012"
    assert usd(0.25) == "$0.2500"
    assert usd(3.5) == "$3.50"

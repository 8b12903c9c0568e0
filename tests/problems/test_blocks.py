"""EVOLVE-BLOCK regions: read, replaced, and the fixed parts guarded."""

from __future__ import annotations

import pytest

from benchmarks.problems import ProblemError
from benchmarks.problems.blocks import blocks, fixed_parts_kept, regions, splice
from tests.problems.layouts import OE_PROGRAM

TWO = "a = 1\n# EVOLVE-BLOCK-START\nb = 2\n# EVOLVE-BLOCK-END\nc = 3\n# EVOLVE-BLOCK-START\nd = 4\ne = 5\n# EVOLVE-BLOCK-END\n"


def test_regions_and_blocks() -> None:
    assert regions(TWO) == [(2, 3), (6, 8)]
    assert blocks(TWO) == ["b = 2\n", "d = 4\ne = 5\n"]
    assert blocks("x = 1\n") == ["x = 1\n"]
    assert blocks(OE_PROGRAM)[0].startswith('"""Find the minimum')


def test_splice_keeps_markers_and_fixed_code() -> None:
    new = splice(TWO, ["b = 20", "d = 40\n"])
    assert new == TWO.replace("b = 2\n", "b = 20\n").replace("d = 4\ne = 5\n", "d = 40\n")
    assert fixed_parts_kept(TWO, new)
    assert not fixed_parts_kept(TWO, new.replace("c = 3", "c = 30"))
    assert not fixed_parts_kept(TWO, new.replace("# EVOLVE-BLOCK-END\n", "", 1))
    with pytest.raises(ProblemError, match="2 evolve blocks; 1 were given"):
        splice(TWO, ["x"])


@pytest.mark.parametrize(
    "code,why",
    [
        ("# EVOLVE-BLOCK-START\nx\n", "never closed"),
        ("x\n# EVOLVE-BLOCK-END\n", "without a EVOLVE-BLOCK-START"),
        ("# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-END\n", "inside a region"),
    ],
)
def test_unbalanced_markers_are_errors(code: str, why: str) -> None:
    with pytest.raises(ProblemError, match=why):
        regions(code)

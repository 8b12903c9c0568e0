"""EVOLVE-BLOCK markers: the regions of a program that evolution may change.

OpenEvolve's convention (FunSearch and ShinkaEvolve mark regions the same way): a line
containing EVOLVE-BLOCK-START opens a region, a line containing EVOLVE-BLOCK-END closes it;
everything outside the regions is fixed. A program without markers is one region, whole.
"""

from __future__ import annotations

from benchmarks.problems.problem import ProblemError

START, END = "EVOLVE-BLOCK-START", "EVOLVE-BLOCK-END"


def regions(code: str) -> list[tuple[int, int]]:
    """(first, last+1) line indexes of each region's content, markers excluded."""
    lines = code.splitlines()
    spans: list[tuple[int, int]] = []
    opened: int | None = None
    for i, line in enumerate(lines):
        if START in line:
            if opened is not None:
                raise ProblemError(f"line {i + 1}: {START} inside a region opened at line {opened}")
            opened = i + 1
        elif END in line:
            if opened is None:
                raise ProblemError(f"line {i + 1}: {END} without a {START} before it")
            spans.append((opened, i))
            opened = None
    if opened is not None:
        raise ProblemError(f"line {opened}: {START} is never closed by {END}")
    return spans


def has_blocks(code: str) -> bool:
    return START in code


def blocks(code: str) -> list[str]:
    """The content of each region (the whole program when it has no markers)."""
    if not has_blocks(code):
        return [code]
    lines = code.splitlines(keepends=True)
    return ["".join(lines[a:b]) for a, b in regions(code)]


def splice(code: str, new_blocks: list[str]) -> str:
    """`code` with each region's content replaced by `new_blocks` (same count), the
    markers and everything outside them unchanged."""
    if not has_blocks(code):
        if len(new_blocks) != 1:
            raise ProblemError(
                f"the program has no EVOLVE-BLOCK markers: give 1 block, not {len(new_blocks)}"
            )
        return new_blocks[0]
    spans = regions(code)
    if len(new_blocks) != len(spans):
        raise ProblemError(
            f"the program has {len(spans)} evolve blocks; {len(new_blocks)} were given"
        )
    lines = code.splitlines(keepends=True)
    out, at = [], 0
    for (a, b), block in zip(spans, new_blocks, strict=True):
        out += lines[at:a]
        out.append(block if block.endswith("\n") or not block else block + "\n")
        at = b
    out += lines[at:]
    return "".join(out)


def fixed_parts_kept(old: str, new: str) -> bool:
    """True when `new` changes nothing outside the regions of `old` (and keeps its markers)."""
    if not has_blocks(old):
        return True
    try:
        return splice(old, [""] * len(regions(old))) == splice(new, [""] * len(regions(new)))
    except ProblemError:
        return False

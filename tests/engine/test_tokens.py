"""Token edits and the names an edit must not invent (dgm/mutators/tokens.py): pure."""

from __future__ import annotations

import ast

import pytest

from dgm.mutators.tokens import Site, marked, neighbours, new_undefined, replace, sites

PROGRAM = (
    "import numpy as np\n"
    "def search(iterations=1000, bounds=(-5, 5)):\n"
    "    best = np.random.uniform(bounds[0], bounds[-1])\n"
    "    if best < 0.5 and x[1:3] != y:\n"
    "        return max(best * 2, True) - 1\n"
    "    return np.max(best) ** 2 + 0x1F + 2j\n"
)


def test_numbers_and_comparisons_are_sites_subscripts_and_leaps_are_not() -> None:
    found = {(s.line, s.old): s.choices for s in sites(PROGRAM, set(range(1, 7)))}
    assert list(found) == [
        (2, "1000"),
        (2, "-5"),  # the sign belongs to the number
        (2, "5"),
        (4, "<"),
        (4, "0.5"),
        (4, "1"),  # a slice bound tunes; a whole subscript (bounds[0], bounds[-1]) does not
        (4, "3"),
        (5, "2"),  # max, True and the binary minus are leaps, not steps
        (5, "1"),
        (6, "2"),  # hex and complex literals stay
    ]
    assert found[(4, "<")] == ("<=",)
    assert found[(2, "1000")] == neighbours("1000")
    assert sites(PROGRAM, {3}) == []
    assert sites("def broken(:\n  'open", {1, 2}) == []


def test_a_site_is_replaced_in_place_and_pointed_at() -> None:
    (minus,) = [s for s in sites(PROGRAM, {2}) if s.old == "-5"]
    assert replace(PROGRAM, minus, "-3").splitlines()[1] == (
        "def search(iterations=1000, bounds=(-3, 5)):"
    )
    assert marked(PROGRAM, minus).splitlines()[1] == " " * 36 + "^^"
    site = Site(1, 0, 6, "import", ("from",))
    assert replace("import x\n", site, "from") == "from x\n"


@pytest.mark.parametrize(
    ("literal", "near"),
    [
        ("1000", ("500", "800", "900", "1100", "1250", "2000")),
        ("-5", ("-10", "-6", "-4", "-2")),
        ("1", ("0", "2")),
        ("0", ("-1", "1", "2")),
        ("0.4", ("0.2", "0.32", "0.36", "0.44", "0.5", "0.8")),
        ("1e-3", ("0.0005", "0.0008", "0.0009", "0.0011", "0.00125", "0.002")),
        ("0.0", ("-0.1", "0.1", "0.5", "1.0")),
        ("0.999", ("0.998", "0.99875", "0.9989", "0.9991", "0.9992", "0.9995")),
        ("0.7", ("0.4", "0.625", "0.67", "0.73", "0.76", "0.85")),
        ("1_000", ("500", "800", "900", "1100", "1250", "2000")),
    ],
)
def test_a_numbers_choices_are_its_neighbours_written_as_its_kind(
    literal: str, near: tuple[str, ...]
) -> None:
    assert neighbours(literal) == near


def test_an_edit_may_not_load_a_name_defined_nowhere() -> None:
    before = ast.parse("import os\ndef f(a):\n    b = a\n    return b\n")
    invented = ast.parse("import os\ndef f(a):\n    b = a_old\n    return your_code\n")
    assert new_undefined(before, invented) == ["a_old", "your_code"]
    kept = ast.parse("import os, json\ndef f(a):\n    b = json.dumps(len(a))\n    return b\n")
    assert new_undefined(before, kept) == []
    # A name the parent already loaded without defining (its host sets it) is its business.
    hosted = ast.parse("def f():\n    return HOST\n")
    assert new_undefined(hosted, ast.parse("def f():\n    return HOST + 1\n")) == []
    # A star import makes every name possible.
    assert new_undefined(None, ast.parse("from math import *\nx = tau\n")) == []

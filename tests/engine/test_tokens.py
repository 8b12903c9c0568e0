"""Token edits and the names an edit must not invent (dgm/mutators/tokens.py): pure."""

from __future__ import annotations

import ast

import pytest

from dgm.mutators.tokens import Site, marked, neighbours, new_undefined, replace, sites, undefined

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
    assert new_undefined(undefined(before), invented) == ["a_old", "your_code"]
    kept = ast.parse("import os, json\ndef f(a):\n    b = json.dumps(len(a))\n    return b\n")
    assert new_undefined(undefined(before), kept) == []
    # A name the parent already loaded without defining (its host sets it) is its business.
    hosted = ast.parse("def f():\n    return HOST\n")
    assert new_undefined(undefined(hosted), ast.parse("def f():\n    return HOST + 1\n")) == []
    # A star import makes every name possible.
    assert new_undefined(set(), ast.parse("from math import *\nx = tau\n")) == []


# ReEvo's seed of tsp_constructive, as it ships: `threshold` is set and never read.
REEVO_SEED = """import numpy as np
LIMIT = 3


def select_next_node(current_node, destination_node, unvisited_nodes, distance_matrix):
    threshold = 0.7
    c1, c2, c3, c4 = 0.4, 0.3, 0.2, 0.1
    spare, weight = 0.5, 2.0
    ratio: float = 0.25
    ratio += 0.5
    scores = {}
    for node in unvisited_nodes:
        others = [i for i in unvisited_nodes if i != node]
        average = np.mean([distance_matrix[node][i] for i in others])
        deviation = np.std([distance_matrix[node][i] for i in others])
        near = distance_matrix[current_node][node]
        scores[node] = c1 * near - c2 * average + c3 * deviation - c4 * weight
    return min(scores, key=scores.get)


def tuned():
    step = 0.5
    return eval("step")
"""


def test_a_constant_no_one_reads_is_no_site() -> None:
    found = [(s.line, s.old) for s in sites(REEVO_SEED, set(range(1, 25)))]
    assert (6, "0.7") not in found  # threshold: any value scores as its parent
    assert [(7, "0.4"), (7, "0.3"), (7, "0.2"), (7, "0.1")] == [f for f in found if f[0] == 7]
    assert [(8, "2.0")] == [f for f in found if f[0] == 8]  # spare is unread, weight is read
    assert not [f for f in found if f[0] in (9, 10)]  # ratio: set, stepped, never read
    assert (2, "3") in found  # a module's name may be read by whoever imports it
    assert (22, "0.5") in found  # eval may read any local


def test_dead_spans_count_characters_not_bytes() -> None:
    source = 'def f():\n    s = "é"; x = 0.5\n    return s\n'
    assert [(s.line, s.old) for s in sites(source, {2})] == []
    used = 'def f():\n    s = "é"; x = 0.5\n    return s, x\n'
    assert [(s.line, s.old) for s in sites(used, {2})] == [(2, "0.5")]

"""A 'min' problem run in the real UI server: the tree and the progress chart label raw
scores (a tour length, not its stored negation) and colour by the score's rank in the run,
so the best and the worst program differ; a suite run's tree is coloured by its score."""

from __future__ import annotations

import re

from archive import open_archive
from tests.ui import sample
from tests.ui.conftest import serving
from tests.ui.test_reflections import reevo_run
from tests.ui.test_server import get, get_json


def test_a_min_problem_labels_raw_scores_and_colours_by_rank(archive_url: str) -> None:
    with open_archive(archive_url) as a:
        ids = reevo_run(a)  # tour lengths: worse 7.5, better 6.25, child 5.75; seed unscored
        suite = sample.build(a)
    with serving(archive_url) as server:
        tree = get_json(server, f"/api/runs/{ids['run']}/tree")
        assert tree["direction"] == "min" and tree["best"] == ids["child"]
        nodes = {n["id"]: n for n in tree["nodes"]}
        raw = {role: nodes[ids[role]]["s"] for role in ("seed", "worse", "better", "child")}
        assert raw == {"seed": None, "worse": 7.5, "better": 6.25, "child": 5.75}
        assert nodes[ids["seed"]]["sb"] == 5.75  # the subtree's best: the shortest tour
        colour = {role: nodes[ids[role]]["c"] for role in ("seed", "worse", "better", "child")}
        assert colour == {"seed": None, "worse": 0.0, "better": 0.5, "child": 1.0}

        kids = get_json(server, f"/api/runs/{ids['run']}/tree?node={ids['seed']}")
        shown = {n["id"]: (n["s"], n["c"], n["sb"]) for n in kids["nodes"]}
        assert shown == {ids["worse"]: (7.5, 0.0, 7.5), ids["better"]: (6.25, 0.5, 5.75)}

        page = get(server, f"/runs/{ids['run']}").read().decode()
        assert "labels: raw scores, lower is better" in page
        chart = page[page.index('data-section="progress"') :]
        chart = chart[: chart.index("</svg>")]
        assert 'aria-label="score (min) against' in chart
        ticks = re.findall(r'<text class="tick"[^>]*text-anchor="end">([^<]*)</text>', chart)
        assert (float(ticks[0]), float(ticks[-1])) == (5.75, 7.5)  # raw, not -7.5..-5.75

        plain = get_json(server, f"/api/runs/{suite['run']}/tree")
        assert plain["direction"] is None
        assert all(n["c"] == n["s"] for n in plain["nodes"])  # as before: colour by score
        assert {n["s"] for n in plain["nodes"]} == {0.25, 0.5, 0.4, 0.75, None}
        suite_page = get(server, f"/runs/{suite['run']}").read().decode()
        assert "Colour: score;" in suite_page and 'aria-label="score against' in suite_page
